// What the client holds per resource type, and the pure step from one response to the next
// holdings: the whole response is accepted, or rejected with every problem it has.
import type { Resource__Output } from "../../src/xds/generated/envoy/service/discovery/v3/Resource.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import { convertResource, nameOf } from "./convert.js";
import type { KindValues, ResourceKind } from "./resource-kinds.js";
import { isWildcardKind, LABEL } from "./resource-kinds.js";

export interface Stored<T> {
  readonly value: T;
  /** The per-resource version (delta); "" in state of the world. */
  readonly version: string;
}

export interface TypeStore<T> {
  /** Version of the last accepted response ("" before any). */
  readonly version: string;
  readonly received: boolean;
  readonly resources: ReadonlyMap<string, Stored<T>>;
  /** Names the server said do not exist (delta removals of subscribed names). */
  readonly absent: ReadonlySet<string>;
}

export type Store = { readonly [K in ResourceKind]: TypeStore<KindValues[K]> };

export type UpdateOutcome<T> =
  | { readonly ok: true; readonly next: TypeStore<T> }
  | { readonly ok: false; readonly message: string };

/** Problems listed in a NACK; the rest are counted. */
const MAX_PROBLEMS = 10;

export function emptyTypeStore<T>(): TypeStore<T> {
  return { version: "", received: false, resources: new Map(), absent: new Set() };
}

export function emptyStore(): Store {
  return {
    listener: emptyTypeStore(),
    route: emptyTypeStore(),
    cluster: emptyTypeStore(),
    endpoint: emptyTypeStore(),
    secret: emptyTypeStore(),
  };
}

interface Incoming {
  readonly packed: Any__Output | null;
  /** The name the delta envelope gives, checked against the message's own. */
  readonly name?: string;
  readonly version: string;
}

/** The name inside a decoded resource, to skip unrequested ones before converting them. */
function peekName(kind: ResourceKind, packed: Any__Output | null): string | undefined {
  if (packed === null || !("@type" in packed)) return undefined;
  const fields = packed as unknown as Record<string, unknown>;
  const name = fields[kind === "endpoint" ? "cluster_name" : "name"];
  return typeof name === "string" ? name : undefined;
}

/** Converts what the client asked for; unrequested resources are ignored, as xDS says. */
function convertAll<K extends ResourceKind>(
  kind: K,
  incoming: readonly Incoming[],
  wanted: ReadonlySet<string>,
): { ok: true; values: Map<string, Stored<KindValues[K]>> } | { ok: false; message: string } {
  const problems: string[] = [];
  const values = new Map<string, Stored<KindValues[K]>>();
  for (const r of incoming) {
    const envelope = r.name ?? peekName(kind, r.packed);
    if (envelope !== undefined && !isWildcardKind(kind) && !wanted.has(envelope)) continue;
    const converted = convertResource(kind, r.packed);
    if (!converted.ok) {
      problems.push(converted.message);
      continue;
    }
    const name = nameOf(kind, converted.value);
    if (r.name !== undefined && r.name !== name) {
      problems.push(`${LABEL[kind]} ${name}: sent under the name ${r.name}`);
    } else if (values.has(name)) {
      problems.push(`${LABEL[kind]} ${name}: appears twice in one response`);
    } else if (isWildcardKind(kind) || wanted.has(name)) {
      values.set(name, { value: converted.value, version: r.version });
    }
  }
  if (problems.length === 0) return { ok: true, values };
  const more =
    problems.length > MAX_PROBLEMS ? ` (and ${problems.length - MAX_PROBLEMS} more)` : "";
  return { ok: false, message: problems.slice(0, MAX_PROBLEMS).join("; ") + more };
}

/**
 * A state-of-the-world response. Listener and cluster responses are the whole set (absence is
 * deletion); route and endpoint responses carry only what changed and never delete.
 */
export function planSotwUpdate<K extends ResourceKind>(
  kind: K,
  current: TypeStore<KindValues[K]>,
  version: string,
  resources: readonly Any__Output[],
  wanted: ReadonlySet<string>,
): UpdateOutcome<KindValues[K]> {
  const converted = convertAll(
    kind,
    resources.map((packed) => ({ packed, version: "" })),
    wanted,
  );
  if (!converted.ok) return converted;
  const merged = isWildcardKind(kind)
    ? converted.values
    : new Map([...current.resources, ...converted.values]);
  return { ok: true, next: { version, received: true, resources: merged, absent: new Set() } };
}

/** A delta response: changed resources, and removals (of subscribed names: "does not exist"). */
export function planDeltaUpdate<K extends ResourceKind>(
  kind: K,
  current: TypeStore<KindValues[K]>,
  version: string,
  resources: readonly Resource__Output[],
  removed: readonly string[],
  wanted: ReadonlySet<string>,
): UpdateOutcome<KindValues[K]> {
  // A resource without a body is a TTL heartbeat: the held copy stays.
  const bodies = resources.filter((r) => r.resource !== null);
  const converted = convertAll(
    kind,
    bodies.map((r) => ({ packed: r.resource, name: r.name, version: r.version })),
    wanted,
  );
  if (!converted.ok) return converted;
  const next = new Map([...current.resources, ...converted.values]);
  const absent = new Set(current.absent);
  for (const name of converted.values.keys()) absent.delete(name);
  for (const name of removed) {
    next.delete(name);
    if (!isWildcardKind(kind) && wanted.has(name)) absent.add(name);
  }
  return { ok: true, next: { version, received: true, resources: next, absent } };
}

/** Trust bundles the inbound listeners' chains and the clusters' TLS verify peers against. */
export function referencedSecrets(store: Store): Set<string> {
  const out = new Set<string>();
  for (const { value } of store.listener.resources.values()) {
    if (value.kind !== "inbound") continue;
    for (const c of value.chains) if (c.tls !== undefined) out.add(c.tls.validationSecret);
  }
  for (const { value } of store.cluster.resources.values()) {
    if (value.tls !== undefined) out.add(value.tls.validationSecret);
  }
  return out;
}

/** Route configurations the listeners use, endpoint sets the clusters use, secrets both use. */
export function wantedNames(store: Store, kind: ResourceKind): ReadonlySet<string> {
  switch (kind) {
    case "listener":
    case "cluster":
      return new Set(["*"]);
    case "route": {
      const names = new Set<string>();
      for (const { value } of store.listener.resources.values())
        if (value.kind === "api") names.add(value.routeConfig);
      return names;
    }
    case "endpoint":
      return new Set([...store.cluster.resources.values()].map((c) => c.value.edsName));
    case "secret":
      return referencedSecrets(store);
  }
}

function keepOnly<T>(s: TypeStore<T>, names: ReadonlySet<string>): TypeStore<T> {
  const gone = [...s.resources.keys()].some((n) => !names.has(n));
  const goneAbsent = [...s.absent].some((n) => !names.has(n));
  if (!gone && !goneAbsent) return s;
  return {
    ...s,
    resources: new Map([...s.resources].filter(([n]) => names.has(n))),
    absent: new Set([...s.absent].filter((n) => names.has(n))),
  };
}

/** Drops routes, endpoints and secrets nothing refers to any more (xDS's implicit deletion). */
export function trimStore(store: Store): Store {
  const route = keepOnly(store.route, wantedNames(store, "route"));
  const endpoint = keepOnly(store.endpoint, wantedNames(store, "endpoint"));
  const secret = keepOnly(store.secret, wantedNames(store, "secret"));
  return route === store.route && endpoint === store.endpoint && secret === store.secret
    ? store
    : { ...store, route, endpoint, secret };
}
