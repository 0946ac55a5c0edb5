// The resource dump both control planes of the benchmark serve: every variant of the config as
// encoded resources, so vireo and go-control-plane are fed byte for byte the same messages.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { EncodedResource, Snapshot, TypeUrl } from "../../../src/xds/snapshot.js";
import { ALL_TYPES } from "../../../src/xds/snapshot.js";

export interface DumpResource {
  readonly typeUrl: string;
  readonly name: string;
  /** Base64 of the serialized message. */
  readonly value: string;
}

export interface DumpVariant {
  readonly version: string;
  readonly resources: readonly DumpResource[];
}

export interface Dump {
  readonly services: number;
  readonly variants: readonly DumpVariant[];
}

export function dumpVariant(version: string, snapshot: Snapshot): DumpVariant {
  const resources: DumpResource[] = [];
  for (const typeUrl of ALL_TYPES) {
    const byName = snapshot.resources.get(typeUrl);
    if (byName === undefined) continue;
    for (const r of byName.values()) {
      resources.push({ typeUrl, name: r.name, value: r.value.toString("base64") });
    }
  }
  return { version, resources };
}

export async function readDump(path: string): Promise<Dump> {
  const parsed: unknown = JSON.parse(await readFile(path, "utf8"));
  if (!isDump(parsed)) throw new Error(`${path}: not a resource dump`);
  return parsed;
}

/** The resources of one variant, encoded as src/xds/snapshot.ts encodes them. */
export function variantResources(
  variant: DumpVariant,
): ReadonlyMap<TypeUrl, ReadonlyMap<string, EncodedResource>> {
  const out = new Map<TypeUrl, Map<string, EncodedResource>>(ALL_TYPES.map((t) => [t, new Map()]));
  for (const r of variant.resources) {
    const byName = out.get(r.typeUrl);
    if (byName === undefined) throw new Error(`dump: unknown type ${r.typeUrl}`);
    const value = Buffer.from(r.value, "base64");
    const version = createHash("sha256").update(value).digest("base64url").slice(0, 16);
    byName.set(r.name, { name: r.name, version, typeUrl: r.typeUrl, value });
  }
  return out;
}

function isDump(x: unknown): x is Dump {
  if (typeof x !== "object" || x === null) return false;
  const d = x as Partial<Record<keyof Dump, unknown>>;
  return (
    typeof d.services === "number" &&
    Array.isArray(d.variants) &&
    d.variants.every(
      (v: unknown) =>
        typeof v === "object" &&
        v !== null &&
        "version" in v &&
        typeof v.version === "string" &&
        "resources" in v &&
        Array.isArray(v.resources),
    )
  );
}
