// The Node a proxy identifies itself with on the first request of each ADS stream.
import type { Node } from "../../src/xds/generated/envoy/config/core/v3/Node.js";

export const USER_AGENT_NAME = "vireo-proxy";

export interface NodeIdentity {
  /** Unique per proxy, e.g. `sidecar~10.0.0.5~podinfo-7d9f.demo~demo.svc.cluster.local`. */
  readonly id: string;
  /** The workload's service cluster, e.g. `podinfo.demo`. */
  readonly cluster: string;
  /** String metadata (Istio's keys: NAMESPACE, WORKLOAD_NAME, SERVICE_ACCOUNT, …). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly zone?: string;
  readonly version?: string;
}

/**
 * protobufjs ships its own descriptor of google.protobuf.Struct with camelCase field names, and
 * proto-loader keeps it even with `keepCase`: a Value is `{ stringValue }`, not `{ string_value }`.
 */
export function buildNode(identity: NodeIdentity): Node {
  const fields = Object.fromEntries(
    Object.entries(identity.metadata ?? {}).map(([k, v]) => [k, { stringValue: v }]),
  );
  return {
    id: identity.id,
    cluster: identity.cluster,
    metadata: { fields },
    ...(identity.zone !== undefined && { locality: { zone: identity.zone } }),
    user_agent_name: USER_AGENT_NAME,
    user_agent_version: identity.version ?? "dev",
  };
}
