// Peer metadata exchange between the two proxies of a hop (Istio does this with
// x-envoy-peer-metadata): the source proxy names its workload on the request, the destination
// proxy names its own on the response, and each strips the other's before the app sees them.
// Until mTLS, a client can forge these; values are checked and metrics bound their cardinality.
import type { ProxyIdentity } from "./identity.js";

export const SOURCE_WORKLOAD_HEADER = "x-vireo-source-workload";
export const SOURCE_NAMESPACE_HEADER = "x-vireo-source-namespace";
export const DESTINATION_WORKLOAD_HEADER = "x-vireo-destination-workload";
export const DESTINATION_NAMESPACE_HEADER = "x-vireo-destination-namespace";
export const DESTINATION_VERSION_HEADER = "x-vireo-destination-version";

export const PEER_HEADERS: readonly string[] = [
  SOURCE_WORKLOAD_HEADER,
  SOURCE_NAMESPACE_HEADER,
  DESTINATION_WORKLOAD_HEADER,
  DESTINATION_NAMESPACE_HEADER,
  DESTINATION_VERSION_HEADER,
];

const IS_PEER: ReadonlySet<string> = new Set(PEER_HEADERS);

/** The workload at the other end of a hop, as its proxy declared it. */
export interface PeerWorkload {
  readonly workload: string;
  readonly namespace: string;
  /** Declared by destination proxies only. */
  readonly version?: string;
}

/** Node's incoming and outgoing header objects alike (lower-case names). */
export type HeaderBag = Readonly<Record<string, string | string[] | number | undefined>>;

/** Kubernetes names and label values: no spaces, commas or quotes, at most 253 characters. */
const PEER_VALUE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$/;

function single(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
  if (s === undefined) return undefined;
  const str = String(s);
  return PEER_VALUE.test(str) ? str : undefined;
}

function hasPeerHeader(headers: HeaderBag): boolean {
  for (const h of PEER_HEADERS) if (headers[h] !== undefined) return true;
  return false;
}

/** A copy of `headers` without any x-vireo peer header. */
export function stripPeerHeaders<H extends HeaderBag>(headers: H): H {
  if (!hasPeerHeader(headers)) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !IS_PEER.has(name))) as H;
}

/** Outbound request: the app's own peer headers (forged or not) replaced by this proxy's. */
export function withSourcePeer<H extends HeaderBag>(headers: H, self: ProxyIdentity): H {
  return {
    ...stripPeerHeaders(headers),
    [SOURCE_WORKLOAD_HEADER]: self.workload,
    [SOURCE_NAMESPACE_HEADER]: self.namespace,
  };
}

/** Inbound request: the source workload its proxy declared; undefined from non-mesh clients. */
export function readSourcePeer(headers: HeaderBag): PeerWorkload | undefined {
  const workload = single(headers, SOURCE_WORKLOAD_HEADER);
  const namespace = single(headers, SOURCE_NAMESPACE_HEADER);
  if (workload === undefined || namespace === undefined) return undefined;
  return { workload, namespace };
}

/** Inbound response (upstream or local reply): the app's peer headers replaced by this proxy's. */
export function withDestinationPeer<H extends HeaderBag>(headers: H, self: ProxyIdentity): H {
  return {
    ...stripPeerHeaders(headers),
    [DESTINATION_WORKLOAD_HEADER]: self.workload,
    [DESTINATION_NAMESPACE_HEADER]: self.namespace,
    [DESTINATION_VERSION_HEADER]: self.version,
  };
}

/** Outbound response: the destination workload its proxy declared; undefined without one. */
export function readDestinationPeer(headers: HeaderBag): PeerWorkload | undefined {
  const workload = single(headers, DESTINATION_WORKLOAD_HEADER);
  const namespace = single(headers, DESTINATION_NAMESPACE_HEADER);
  if (workload === undefined || namespace === undefined) return undefined;
  const version = single(headers, DESTINATION_VERSION_HEADER);
  return version === undefined ? { workload, namespace } : { workload, namespace, version };
}

/** What one side of the exchange does to a header set, and the peer it learned from it. */
export interface PeerStep<H extends HeaderBag> {
  readonly headers: H;
  readonly peer: PeerWorkload | undefined;
}

/** The exchange as one listener direction performs it (`Direction` of the request record). */
export interface PeerExchange {
  /** Downstream request headers → the headers to send upstream. */
  request<H extends HeaderBag>(headers: H): PeerStep<H>;
  /**
   * `request` in two halves, so the request path copies headers once: the downstream headers
   * with peer headers read and removed (the same object when there are none) …
   */
  incoming<H extends HeaderBag>(headers: H): PeerStep<H>;
  /** … and what this proxy adds to every request it sends upstream, built once. */
  readonly added: Readonly<Record<string, string>> | undefined;
  /** Upstream response headers, or a local reply's → the headers to send downstream. */
  response<H extends HeaderBag>(headers: H): PeerStep<H>;
}

export function peerExchange(
  direction: "inbound" | "outbound" | "gateway",
  self: ProxyIdentity,
): PeerExchange {
  if (direction === "inbound") {
    return {
      request: (headers) => ({ headers: stripPeerHeaders(headers), peer: readSourcePeer(headers) }),
      incoming: (headers) => ({
        headers: stripPeerHeaders(headers),
        peer: readSourcePeer(headers),
      }),
      added: undefined,
      response: (headers) => ({ headers: withDestinationPeer(headers, self), peer: undefined }),
    };
  }
  const added = {
    [SOURCE_WORKLOAD_HEADER]: self.workload,
    [SOURCE_NAMESPACE_HEADER]: self.namespace,
  };
  return {
    request: (headers) => ({ headers: withSourcePeer(headers, self), peer: undefined }),
    incoming: (headers) => ({ headers: stripPeerHeaders(headers), peer: undefined }),
    added,
    response: (headers) => ({
      headers: stripPeerHeaders(headers),
      peer: readDestinationPeer(headers),
    }),
  };
}
