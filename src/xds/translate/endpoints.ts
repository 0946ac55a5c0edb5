// The ready endpoints of one Service port as a ClusterLoadAssignment, grouped by zone.
import { isIP } from "node:net";
import type { ClusterLoadAssignment } from "../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { LocalityLbEndpoints } from "../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js";
import type { EndpointModel } from "../model.js";
import { compareStrings } from "./proto-values.js";

interface Target {
  readonly zone: string;
  readonly address: string;
  readonly port: number;
}

/**
 * Ready endpoints that serve `portName`, sorted by zone, address and port. gRPC clients NACK the
 * whole assignment for a non-IP address or a repeated address, so those are left out here.
 */
function targets(portName: string, endpoints: readonly EndpointModel[]): Target[] {
  const seen = new Set<string>();
  const out: Target[] = [];
  const sorted = endpoints
    .filter((e) => e.ready && isIP(e.address) !== 0)
    .map((e) => ({ zone: e.zone ?? "", address: e.address, port: e.ports[portName] }))
    .filter((t): t is Target => t.port !== undefined && Number.isInteger(t.port) && t.port > 0)
    .sort(
      (a, b) =>
        compareStrings(a.zone, b.zone) || compareStrings(a.address, b.address) || a.port - b.port,
    );
  for (const t of sorted) {
    const key = `${t.address}|${t.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

/**
 * gRPC skips a locality without `load_balancing_weight` and splits traffic between localities by
 * it before balancing inside each. The weight is the locality's endpoint count, so every endpoint
 * gets the same share whatever the zones hold (Envoy ignores locality weights unless told to).
 */
export function buildLoadAssignment(
  clusterName: string,
  portName: string,
  endpoints: readonly EndpointModel[],
): ClusterLoadAssignment {
  const byZone = new Map<string, Target[]>();
  for (const t of targets(portName, endpoints)) {
    const group = byZone.get(t.zone);
    if (group === undefined) byZone.set(t.zone, [t]);
    else group.push(t);
  }
  const localities: LocalityLbEndpoints[] = [...byZone].map(([zone, group]) => ({
    locality: { zone },
    load_balancing_weight: { value: group.length },
    priority: 0,
    lb_endpoints: group.map((t) => ({
      endpoint: { address: { socket_address: { address: t.address, port_value: t.port } } },
      health_status: "HEALTHY",
      load_balancing_weight: { value: 1 },
    })),
  }));
  return { cluster_name: clusterName, endpoints: localities };
}
