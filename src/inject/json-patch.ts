// RFC 6902 JSON Patch by diffing two JSON documents, as Istio builds its injection patch: the
// injector renders the whole pod and the API server receives only the difference. Arrays whose
// new form is the old one with elements inserted in one place get `add` at that index (so
// `add /spec/initContainers/0` shifts the user's init containers); a missing parent is added
// whole, so no operation ever targets a path whose parent does not exist.

export type Json = null | boolean | number | string | readonly Json[] | JsonObject;
// An interface: a type alias may not refer to itself through Record.
export interface JsonObject {
  readonly [k: string]: Json | undefined;
}

export type PatchOperation =
  | { readonly op: "add"; readonly path: string; readonly value: Json }
  | { readonly op: "replace"; readonly path: string; readonly value: Json }
  | { readonly op: "remove"; readonly path: string };

/** A key as one JSON Pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapeKey(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isArray(v: Json | undefined): v is readonly Json[] {
  return Array.isArray(v);
}

export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (isArray(a) && isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The operations that turn `from` into `to`. */
export function diff(from: Json, to: Json, path = ""): PatchOperation[] {
  if (jsonEqual(from, to)) return [];
  if (isObject(from) && isObject(to)) {
    const ops: PatchOperation[] = [];
    for (const k of Object.keys(from)) {
      if (from[k] !== undefined && to[k] === undefined) {
        ops.push({ op: "remove", path: `${path}/${escapeKey(k)}` });
      }
    }
    for (const k of Object.keys(to)) {
      const t = to[k];
      if (t === undefined) continue;
      const f = from[k];
      const p = `${path}/${escapeKey(k)}`;
      if (f === undefined) ops.push({ op: "add", path: p, value: t });
      else ops.push(...diff(f, t, p));
    }
    return ops;
  }
  if (isArray(from) && isArray(to)) return diffArray(from, to, path);
  return [{ op: "replace", path, value: to }];
}

function diffArray(from: readonly Json[], to: readonly Json[], path: string): PatchOperation[] {
  if (from.length === to.length) {
    return from.flatMap((f, i) => diff(f, to[i] ?? null, `${path}/${String(i)}`));
  }
  if (to.length > from.length) {
    // One run of new elements between an unchanged prefix and an unchanged suffix.
    let prefix = 0;
    while (prefix < from.length && jsonEqual(from[prefix], to[prefix])) prefix++;
    let suffix = 0;
    while (
      suffix < from.length - prefix &&
      jsonEqual(from[from.length - 1 - suffix], to[to.length - 1 - suffix])
    ) {
      suffix++;
    }
    if (prefix + suffix === from.length) {
      const inserted = to.slice(prefix, to.length - suffix);
      return inserted.map((value, i) => ({
        op: "add" as const,
        // Appending says `-`, so the operation does not depend on the array's length.
        path: suffix === 0 ? `${path}/-` : `${path}/${String(prefix + i)}`,
        value,
      }));
    }
  }
  return [{ op: "replace", path, value: to }];
}

/** Applies `ops` to a copy of `doc` (for tests and `vireo inject`: the API server does it live). */
export function applyPatch(doc: Json, ops: readonly PatchOperation[]): Json {
  let root: unknown = structuredClone(doc);
  for (const op of ops) {
    const segs = op.path
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (segs.length === 0) {
      if (op.op === "remove") throw new Error("cannot remove the document");
      root = structuredClone(op.value);
      continue;
    }
    const last = segs[segs.length - 1] ?? "";
    let parent: unknown = root;
    for (const s of segs.slice(0, -1)) {
      parent = Array.isArray(parent)
        ? (parent as unknown[])[Number(s)]
        : (parent as Record<string, unknown> | undefined)?.[s];
      if (typeof parent !== "object" || parent === null) {
        throw new Error(`${op.op} ${op.path}: the parent does not exist`);
      }
    }
    if (Array.isArray(parent)) {
      const arr = parent as unknown[];
      const i = last === "-" ? arr.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > arr.length) {
        throw new Error(`${op.op} ${op.path}: index out of range`);
      }
      if (op.op === "add") arr.splice(i, 0, structuredClone(op.value));
      else if (op.op === "replace") arr[i] = structuredClone(op.value);
      else arr.splice(i, 1);
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op !== "add" && !(last in obj)) {
        throw new Error(`${op.op} ${op.path}: no such member`);
      }
      if (op.op === "remove") Reflect.deleteProperty(obj, last);
      else obj[last] = structuredClone(op.value);
    }
  }
  return root as Json;
}
