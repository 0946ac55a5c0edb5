// Assembles per-type state into one RoutingSnapshot and lists the references it cannot follow.
// Dangling references are legal in xDS (Envoy answers 503 NC / 404 NR at request time), so they
// are warnings, not errors.
import type {
  ClusterConfig,
  EndpointSet,
  ListenerConfig,
  RouteTable,
  RoutingSnapshot,
} from "../routing/model.js";
import type { InboundListenerConfig, TrustBundle } from "../routing/security-model.js";

export interface SnapshotParts {
  readonly versions: ReadonlyMap<string, string>;
  readonly listeners: ReadonlyMap<string, ListenerConfig>;
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  /** By EDS service name (a cluster's `edsName`). */
  readonly endpoints: ReadonlyMap<string, EndpointSet>;
  readonly inbound: ReadonlyMap<string, InboundListenerConfig>;
  readonly secrets: ReadonlyMap<string, TrustBundle>;
}

export interface SnapshotBuild {
  readonly snapshot: RoutingSnapshot;
  readonly warnings: readonly string[];
}

/** Every cluster a route table sends or mirrors traffic to. */
export function routeTableClusters(table: RouteTable): Set<string> {
  const out = new Set<string>();
  for (const vh of table.virtualHosts) {
    for (const r of vh.routes) {
      if (r.kind === "local") continue;
      for (const c of r.action.clusters) out.add(c.cluster);
      for (const m of r.action.mirrors) out.add(m.cluster);
    }
  }
  return out;
}

export function missingReferences(parts: SnapshotParts): string[] {
  const warnings: string[] = [];
  for (const l of parts.listeners.values()) {
    if (!parts.routeTables.has(l.routeConfig))
      warnings.push(
        `Listener ${l.name}: route configuration ${l.routeConfig} not received (404 NR)`,
      );
  }
  for (const t of parts.routeTables.values()) {
    for (const c of routeTableClusters(t)) {
      if (!parts.clusters.has(c))
        warnings.push(`RouteConfiguration ${t.name}: cluster ${c} not received (503 NC)`);
    }
  }
  for (const c of parts.clusters.values()) {
    if (!parts.endpoints.has(c.edsName))
      warnings.push(`Cluster ${c.name}: endpoints ${c.edsName} not received (503 UH)`);
  }
  return warnings;
}

export function buildRoutingSnapshot(parts: SnapshotParts): SnapshotBuild {
  const snapshot: RoutingSnapshot = {
    versions: new Map(parts.versions),
    listeners: new Map(parts.listeners),
    routeTables: new Map(parts.routeTables),
    clusters: new Map(parts.clusters),
    endpoints: new Map(parts.endpoints),
    inbound: new Map(parts.inbound),
    secrets: new Map(parts.secrets),
  };
  return { snapshot, warnings: missingReferences(parts) };
}
