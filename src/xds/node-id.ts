// The parts of an Istio-style node id, `sidecar~10.0.0.5~podinfo-7d9f.demo~demo.svc.cluster.local`,
// which every vireo proxy sends (mesh/xds-client/node.ts).

export interface ProxyNode {
  readonly ip: string;
  readonly pod: string;
  readonly namespace: string;
}

/** The proxy's pod and address, or undefined for an id of another shape. */
export function parseNodeId(id: string): ProxyNode | undefined {
  const parts = id.split("~");
  if (parts.length !== 4) return undefined;
  const [, ip = "", podDotNs = ""] = parts;
  // A pod name may hold dots, a namespace may not.
  const dot = podDotNs.lastIndexOf(".");
  if (ip === "" || dot <= 0 || dot === podDotNs.length - 1) return undefined;
  return { ip, pod: podDotNs.slice(0, dot), namespace: podDotNs.slice(dot + 1) };
}
