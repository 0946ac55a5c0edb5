// Pure conversions from Kubernetes Services and EndpointSlices to the xDS cluster-state model.
import type { V1Endpoint, V1EndpointSlice, V1Pod, V1Service } from "@kubernetes/client-node";
import { PROXY_CONTAINER } from "../../inject/names.js";
import type {
  PodModel,
  EndpointModel,
  PortProtocol,
  ServiceEndpoints,
  ServiceModel,
  ServicePort,
} from "../model.js";

const PROTOCOL_PREFIXES: readonly [string, PortProtocol][] = [
  ["grpc", "grpc"],
  ["http2", "http2"],
  ["h2c", "http2"],
  ["http", "http"],
  ["tcp", "tcp"],
];

/**
 * A port's protocol from `appProtocol`, else from its name's prefix (`http-web`, `grpc`), as
 * Istio selects it; HTTP/1.1 when neither says.
 */
export function portProtocol(
  name: string | undefined,
  appProtocol: string | undefined,
  proto?: string,
): PortProtocol {
  if (proto === "UDP" || proto === "SCTP") return "tcp";
  const ap = appProtocol?.toLowerCase();
  if (ap !== undefined) {
    if (ap === "kubernetes.io/h2c") return "http2";
    for (const [prefix, p] of PROTOCOL_PREFIXES) if (ap === prefix) return p;
  }
  const n = (name ?? "").toLowerCase();
  for (const [prefix, p] of PROTOCOL_PREFIXES) {
    if (n === prefix || n.startsWith(`${prefix}-`)) return p;
  }
  return "http";
}

/** The Service as the translator needs it; headless and ExternalName Services are skipped. */
export function serviceModel(svc: V1Service): ServiceModel | undefined {
  const spec = svc.spec;
  if (spec === undefined || spec.type === "ExternalName") return undefined;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? "",
    port: p.port,
    protocol: portProtocol(p.name, p.appProtocol, p.protocol),
  }));
  return { namespace: svc.metadata?.namespace ?? "default", name: svc.metadata?.name ?? "", ports };
}

/** The endpoints of one EndpointSlice, by the Service it belongs to. */
export function sliceEndpoints(
  slice: V1EndpointSlice,
): { service: string; endpoints: EndpointModel[] } | undefined {
  const service = slice.metadata?.labels?.["kubernetes.io/service-name"];
  if (service === undefined || slice.addressType === "FQDN") return undefined;
  const ports: Record<string, number> = {};
  for (const p of slice.ports ?? []) if (p.port !== undefined) ports[p.name ?? ""] = p.port;
  const endpoints: EndpointModel[] = [];
  for (const e of endpointsOf(slice)) {
    // Ready is what Services route to; a terminating endpoint that still serves is not ready.
    const ready = e.conditions?.ready ?? true;
    for (const address of e.addresses) {
      endpoints.push({
        address,
        ports,
        ready,
        ...(e.zone === undefined ? {} : { zone: e.zone }),
        ...(e.targetRef?.name === undefined ? {} : { podName: e.targetRef.name }),
      });
    }
  }
  return { service, endpoints };
}

/** Merges the slices of every Service into one endpoint list per Service, sorted. */
export function mergeSlices(slices: Iterable<V1EndpointSlice>): ServiceEndpoints[] {
  const byService = new Map<
    string,
    { namespace: string; service: string; endpoints: EndpointModel[] }
  >();
  for (const slice of slices) {
    const e = sliceEndpoints(slice);
    if (e === undefined) continue;
    const namespace = slice.metadata?.namespace ?? "default";
    const key = `${namespace}/${e.service}`;
    let entry = byService.get(key);
    if (entry === undefined) {
      entry = { namespace, service: e.service, endpoints: [] };
      byService.set(key, entry);
    }
    entry.endpoints.push(...e.endpoints);
  }
  return [...byService.values()]
    .map((s) => ({
      ...s,
      endpoints: s.endpoints.sort((a, b) => a.address.localeCompare(b.address)),
    }))
    .sort((a, b) => `${a.namespace}/${a.service}`.localeCompare(`${b.namespace}/${b.service}`));
}

/** A slice's endpoints: typed as always present, but the API server sends null for none. */
export function endpointsOf(slice: V1EndpointSlice): V1Endpoint[] {
  const list = slice.endpoints as V1Endpoint[] | null | undefined;
  return list ?? [];
}

/** A pod with an IP as the security translation needs it; pods without an IP are skipped. */
export function podModel(pod: V1Pod): PodModel | undefined {
  const ip = pod.status?.podIP;
  if (ip === undefined || ip === "") return undefined;
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return {
    namespace: pod.metadata?.namespace ?? "default",
    name: pod.metadata?.name ?? "",
    ip,
    labels: pod.metadata?.labels ?? {},
    serviceAccount: pod.spec?.serviceAccountName ?? "default",
    sidecar: containers.some((c) => c.name === PROXY_CONTAINER),
  };
}
