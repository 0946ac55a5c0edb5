// One request record as Istio's standard label set (research/mesh-semantics.md §7.1). Values a
// peer or a client chose (workloads, versions, hosts) are capped per label, so a forged header
// or a wildcard virtual host cannot grow the series count without bound.
import { stripPort } from "../routing/authority.js";
import type { RequestRecord } from "../filters/request-record.js";
import { formatFlags } from "../filters/request-record.js";
import type { ProxyIdentity } from "./identity.js";
import { spiffeId, UNKNOWN } from "./identity.js";
import type { PeerWorkload } from "./peer-headers.js";

/** What the request path knows of a request when it ends, peer and transport included. */
export interface TelemetryRecord extends RequestRecord {
  /** Inbound: the source proxy's workload; outbound: the destination proxy's. */
  readonly peer?: PeerWorkload | undefined;
}

export const LABEL_NAMES = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_principal",
  "destination_workload",
  "destination_workload_namespace",
  "destination_service",
  "destination_version",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

export type LabelName = (typeof LABEL_NAMES)[number];
export type RequestLabels = Record<LabelName, string>;

/** Labels whose values come from outside the proxy's own configuration. */
const CAPPED: readonly LabelName[] = [
  "source_workload",
  "source_workload_namespace",
  "source_principal",
  "destination_workload",
  "destination_workload_namespace",
  "destination_service",
  "destination_version",
];

export const DEFAULT_MAX_VALUES_PER_LABEL = 200;

/** Admits the first `max` distinct values of each label; later ones read as `unknown`. */
export class LabelValueCap {
  private readonly seen = new Map<LabelName, Set<string>>();

  constructor(private readonly max: number = DEFAULT_MAX_VALUES_PER_LABEL) {}

  admit(label: LabelName, value: string): string {
    if (value === UNKNOWN) return value;
    let values = this.seen.get(label);
    if (values === undefined) {
      values = new Set();
      this.seen.set(label, values);
    }
    if (values.has(value)) return value;
    if (values.size >= this.max) return UNKNOWN;
    values.add(value);
    return value;
  }
}

const HOST = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
const PRINCIPAL = /^spiffe:\/\/[-a-z0-9.]+(?:\/[-A-Za-z0-9._~%]+)*$/;

/** The FQDN of `outbound|9080|v1|reviews.demo.svc.cluster.local`, or undefined. */
function clusterHost(cluster: string | undefined): string | undefined {
  if (cluster === undefined) return undefined;
  const parts = cluster.split("|");
  return parts.length === 4 && parts[3] !== "" ? parts[3] : undefined;
}

/**
 * A host the request was addressed to as the Service FQDN: `reviews`, `reviews.demo`,
 * `reviews.demo.svc` and `reviews.demo.svc.cluster.local` (any port) are all the same Service.
 * `a.b` is read as `<service>.<namespace>` only when the namespace is the proxy's own or the
 * chosen cluster's, since elsewhere it is as likely a public domain.
 */
export function serviceFqdn(
  authority: string,
  self: ProxyIdentity,
  cluster: string | undefined,
): string {
  const host = stripPort(authority.toLowerCase()).replace(/\.$/, "");
  if (!HOST.test(host) || /^[\d.]+$/.test(host)) return UNKNOWN;
  const svcDomain = `.svc.${self.domain}`;
  if (host.endsWith(svcDomain)) return host;
  const labels = host.split(".");
  if (labels.length === 1) return `${host}.${self.namespace}${svcDomain}`;
  if (labels.length === 3 && labels[2] === "svc") return `${host}.${self.domain}`;
  const namespace = labels[1] ?? "";
  const target = clusterHost(cluster);
  const clusterNs = target?.endsWith(svcDomain) === true ? target.split(".")[1] : undefined;
  if (labels.length === 2 && (namespace === self.namespace || namespace === clusterNs)) {
    return `${host}${svcDomain}`;
  }
  return host;
}

/** Status codes are three digits; anything else (0: no response) is reported as it is. */
function responseCode(status: number): string {
  return Number.isInteger(status) && status >= 0 && status <= 999 ? String(status) : "0";
}

/** gRPC clients read codes outside 0-16 as UNKNOWN (2); empty for plain HTTP. */
function grpcCode(record: RequestRecord): string {
  const g = record.grpcStatus;
  if (g === undefined) return "";
  return Number.isInteger(g) && g >= 0 && g <= 16 ? String(g) : "2";
}

function reporterOf(record: RequestRecord): "source" | "destination" {
  // A gateway reports as a source, as Istio's gateways do.
  return record.direction === "inbound" ? "destination" : "source";
}

/** The label values of one request, before capping. */
export function requestLabels(record: TelemetryRecord, self: ProxyIdentity): RequestLabels {
  const reporter = reporterOf(record);
  const peer = record.peer;
  const common = {
    request_protocol: record.protocol,
    response_code: responseCode(record.status),
    grpc_response_status: grpcCode(record),
    response_flags: formatFlags(record.flags),
  };
  const principal = (p: string | undefined): string =>
    record.mutualTls === true && p !== undefined && PRINCIPAL.test(p) ? p : UNKNOWN;
  if (reporter === "destination") {
    return {
      reporter,
      source_workload: peer?.workload ?? UNKNOWN,
      source_workload_namespace: peer?.namespace ?? UNKNOWN,
      source_principal: principal(record.peerPrincipal),
      destination_workload: self.workload,
      destination_workload_namespace: self.namespace,
      destination_service: serviceFqdn(record.authority, self, undefined),
      destination_version: self.version,
      ...common,
      connection_security_policy: record.mutualTls === true ? "mutual_tls" : "none",
    };
  }
  // Without a route the request went nowhere: there is no destination service to name.
  const routed = record.upstreamCluster !== undefined;
  return {
    reporter,
    source_workload: self.workload,
    source_workload_namespace: self.namespace,
    source_principal: principal(spiffeId(self)),
    destination_workload: peer?.workload ?? UNKNOWN,
    destination_workload_namespace: peer?.namespace ?? UNKNOWN,
    destination_service: routed
      ? serviceFqdn(record.authority, self, record.upstreamCluster)
      : UNKNOWN,
    destination_version: peer?.version ?? UNKNOWN,
    ...common,
    // Only the server side of a connection knows its policy (Istio reports `unknown` here too).
    connection_security_policy: UNKNOWN,
  };
}

/** `requestLabels` with peer- and client-chosen values capped. */
export function cappedLabels(labels: RequestLabels, cap: LabelValueCap): RequestLabels {
  const out = { ...labels };
  for (const name of CAPPED) out[name] = cap.admit(name, labels[name]);
  return out;
}
