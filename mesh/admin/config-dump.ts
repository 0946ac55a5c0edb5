// The config dump as JSON people can read: Maps become objects, Sets arrays, RegExps their
// `/source/flags`, and the routing snapshot loses the lookup indexes derived from its hosts.
import type { RouteTable, RoutingSnapshot } from "../routing/model.js";
import type { TrustBundle } from "../routing/security-model.js";

const MAX_DEPTH = 64;

/**
 * A JSON-safe copy of `value`. Maps with string keys become objects (others, arrays of
 * `[key, value]`), Sets arrays, RegExps `/source/flags`, bigints strings, Errors their name and
 * message; functions and undefined are left out, and a cycle becomes `"[Circular]"`.
 */
export function toJsonValue(value: unknown): unknown {
  return convert(value, new Set(), 0);
}

function convert(value: unknown, ancestors: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "object":
      break;
  }
  if (value === null) return null;
  if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
  if (value instanceof Date) return value.toISOString();
  if (ancestors.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Too deep]";
  ancestors.add(value);
  try {
    const inner = (v: unknown): unknown => convert(v, ancestors, depth + 1);
    if (value instanceof Error) return { name: value.name, message: value.message };
    if (value instanceof Map) {
      const entries = [...(value as Map<unknown, unknown>).entries()];
      if (entries.every(([k]) => typeof k === "string")) {
        return Object.fromEntries(entries.map(([k, v]) => [k, inner(v)]));
      }
      return entries.map(([k, v]) => [inner(k), inner(v)]);
    }
    if (value instanceof Set) return [...(value as Set<unknown>)].map(inner);
    if (Array.isArray(value)) return value.map((v: unknown) => inner(v) ?? null);
    if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = inner(v);
      if (c !== undefined) out[k] = c;
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** `toJsonValue(value)` as indented JSON text. */
export function formatConfigDump(value: unknown): string {
  return `${JSON.stringify(toJsonValue(value) ?? null, null, 2)}\n`;
}

/** A route table without `byDomain` and `wildcards`, which repeat its virtual hosts per domain. */
function routeTableDump(table: RouteTable): unknown {
  return { name: table.name, virtualHosts: table.virtualHosts };
}

/** The snapshot as a dump shows it: each resource once, by type, with the versions in force. */
export function routingSnapshotDump(snapshot: RoutingSnapshot): unknown {
  return toJsonValue({
    versions: snapshot.versions,
    listeners: snapshot.listeners,
    routeTables: new Map([...snapshot.routeTables].map(([k, t]) => [k, routeTableDump(t)])),
    clusters: snapshot.clusters,
    endpoints: snapshot.endpoints,
    // RBAC matchers hold RegExps; the dump shows their sources (toJsonValue's way with them).
    inbound: snapshot.inbound ?? new Map(),
    // Trust bundles by name, without the PEM (it is in the vireo-ca-root-cert ConfigMap).
    secrets: new Map(
      [...(snapshot.secrets ?? new Map<string, TrustBundle>())].map(([k, v]) => [
        k,
        { name: v.name, certificates: v.trustedCa.split("BEGIN CERTIFICATE").length - 1 },
      ]),
    ),
  });
}
