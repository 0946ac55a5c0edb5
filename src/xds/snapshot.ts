// A snapshot is one consistent, versioned set of Envoy resources, encoded once and served to
// every client: every name a resource references exists in the same snapshot.
import { createHash } from "node:crypto";
import type { Cluster } from "./generated/envoy/config/cluster/v3/Cluster.js";
import type { ClusterLoadAssignment } from "./generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { Listener } from "./generated/envoy/config/listener/v3/Listener.js";
import type { RouteConfiguration } from "./generated/envoy/config/route/v3/RouteConfiguration.js";
import type { Secret } from "./generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import type { Codecs } from "./protos.js";
import { INVALID_BACKEND_CLUSTER } from "./names.js";
import { typeUrlOf } from "./protos.js";

export const TYPE = {
  listener: typeUrlOf("Listener"),
  route: typeUrlOf("RouteConfiguration"),
  cluster: typeUrlOf("Cluster"),
  endpoint: typeUrlOf("ClusterLoadAssignment"),
  secret: typeUrlOf("Secret"),
} as const;

export type TypeUrl = (typeof TYPE)[keyof typeof TYPE];

export const ALL_TYPES: readonly TypeUrl[] = [
  TYPE.secret,
  TYPE.cluster,
  TYPE.endpoint,
  TYPE.listener,
  TYPE.route,
];

/**
 * Make before break: secrets, then clusters, then their endpoints, then the listeners and routes
 * that use them. ADS responses are sent in this order.
 */
export function pushRank(typeUrl: string): number {
  const i = ALL_TYPES.indexOf(typeUrl);
  return i < 0 ? ALL_TYPES.length : i;
}

/** Types a client may subscribe to by wildcard. */
export function allowsWildcard(typeUrl: string): boolean {
  return typeUrl === TYPE.listener || typeUrl === TYPE.cluster || typeUrl === TYPE.secret;
}

/** What a translator produces, typed, with the references the consistency check follows. */
export interface ResourceSet {
  readonly listeners: ReadonlyMap<
    string,
    {
      readonly message: Listener;
      readonly routeConfigs: readonly string[];
      readonly secrets?: readonly string[];
    }
  >;
  readonly routes: ReadonlyMap<string, RouteConfiguration>;
  readonly clusters: ReadonlyMap<
    string,
    { readonly message: Cluster; readonly edsName?: string; readonly secrets?: readonly string[] }
  >;
  readonly endpoints: ReadonlyMap<string, ClusterLoadAssignment>;
  readonly secrets: ReadonlyMap<string, Secret>;
}

export interface EncodedResource {
  readonly name: string;
  /** Hash of the encoded bytes: the per-resource version used by delta xDS. */
  readonly version: string;
  readonly typeUrl: TypeUrl;
  readonly value: Buffer;
}

export interface Snapshot {
  /** Monotonic, compared numerically: "has the client ACKed at least version V". */
  readonly version: number;
  readonly resources: ReadonlyMap<TypeUrl, ReadonlyMap<string, EncodedResource>>;
}

/**
 * SDS names a proxy resolves itself and the control plane never serves: `default` is the proxy's
 * own certificate, from its own certificate client. Every other secret must be in the snapshot.
 */
export const PROXY_LOCAL_SECRETS: ReadonlySet<string> = new Set(["default"]);

/** Every reference from a resource to one that is missing from the set. */
export function consistencyErrors(set: ResourceSet): string[] {
  const errors: string[] = [];
  for (const [name, l] of set.listeners) {
    for (const rc of l.routeConfigs) {
      if (!set.routes.has(rc)) errors.push(`listener ${name}: route configuration ${rc} missing`);
    }
    for (const s of l.secrets ?? []) {
      if (!PROXY_LOCAL_SECRETS.has(s) && !set.secrets.has(s))
        errors.push(`listener ${name}: secret ${s} missing`);
    }
  }
  for (const [name, rc] of set.routes) {
    for (const cluster of routeClusters(rc)) {
      // Never in CDS on purpose: the route answers its share with cluster_not_found_response_code.
      if (cluster !== INVALID_BACKEND_CLUSTER && !set.clusters.has(cluster))
        errors.push(`route configuration ${name}: cluster ${cluster} missing`);
    }
  }
  for (const [name, c] of set.clusters) {
    if (c.edsName !== undefined && !set.endpoints.has(c.edsName)) {
      errors.push(`cluster ${name}: endpoints ${c.edsName} missing`);
    }
    for (const s of c.secrets ?? []) {
      if (!PROXY_LOCAL_SECRETS.has(s) && !set.secrets.has(s))
        errors.push(`cluster ${name}: secret ${s} missing`);
    }
  }
  return errors;
}

/** Every cluster a route configuration sends or mirrors traffic to. */
export function routeClusters(rc: RouteConfiguration): string[] {
  const out = new Set<string>();
  for (const vh of rc.virtual_hosts ?? []) {
    for (const r of vh.routes ?? []) {
      const a = r.route;
      if (a === undefined || a === null) continue;
      if (typeof a.cluster === "string" && a.cluster !== "") out.add(a.cluster);
      for (const w of a.weighted_clusters?.clusters ?? [])
        if (w.name !== undefined) out.add(w.name);
      for (const m of a.request_mirror_policies ?? [])
        if (m.cluster !== undefined && m.cluster !== "") out.add(m.cluster);
    }
  }
  return [...out];
}

function encodeAll<T>(
  typeUrl: TypeUrl,
  entries: Iterable<[string, T]>,
  encode: (m: T) => Buffer,
): Map<string, EncodedResource> {
  const out = new Map<string, EncodedResource>();
  for (const [name, message] of entries) {
    const value = encode(message);
    const version = createHash("sha256").update(value).digest("base64url").slice(0, 16);
    out.set(name, { name, version, typeUrl, value });
  }
  return out;
}

/** Checks consistency, then encodes every resource once. Throws on a dangling reference. */
export function buildSnapshot(version: number, set: ResourceSet, codecs: Codecs): Snapshot {
  const errors = consistencyErrors(set);
  if (errors.length > 0) {
    throw new Error(`inconsistent xDS snapshot ${version}: ${errors.slice(0, 5).join("; ")}`);
  }
  const mapValues = <K, V, W>(m: ReadonlyMap<K, V>, f: (v: V) => W): [K, W][] =>
    [...m].map(([k, v]) => [k, f(v)]);
  return {
    version,
    resources: new Map<TypeUrl, ReadonlyMap<string, EncodedResource>>([
      [
        TYPE.listener,
        encodeAll(
          TYPE.listener,
          mapValues(set.listeners, (l) => l.message),
          (m) => codecs.Listener.serialize(m),
        ),
      ],
      [
        TYPE.route,
        encodeAll(TYPE.route, set.routes, (m) => codecs.RouteConfiguration.serialize(m)),
      ],
      [
        TYPE.cluster,
        encodeAll(
          TYPE.cluster,
          mapValues(set.clusters, (c) => c.message),
          (m) => codecs.Cluster.serialize(m),
        ),
      ],
      [
        TYPE.endpoint,
        encodeAll(TYPE.endpoint, set.endpoints, (m) => codecs.ClusterLoadAssignment.serialize(m)),
      ],
      [TYPE.secret, encodeAll(TYPE.secret, set.secrets, (m) => codecs.Secret.serialize(m))],
    ]),
  };
}

export function emptyResourceSet(): ResourceSet {
  return {
    listeners: new Map(),
    routes: new Map(),
    clusters: new Map(),
    endpoints: new Map(),
    secrets: new Map(),
  };
}
