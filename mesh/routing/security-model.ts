// The security half of the proxy's configuration: inbound server listeners with their filter
// chains (TLS or plaintext, RBAC), upstream TLS for clusters, and SDS trust bundles. Validated
// once from xDS and immutable, like the routing model.
import type { RbacRules } from "../authz/rbac-model.js";
import type { StringMatcher } from "./match-types.js";

/** Istio's SDS names: the proxy's own certificate, resolved locally, and the trust bundle. */
export const OWN_CERTIFICATE_SECRET = "default";
export const TRUST_BUNDLE_SECRET = "ROOTCA";

export interface DownstreamTls {
  readonly requireClientCertificate: boolean;
  /** SDS name of the trust bundle client certificates are verified against. */
  readonly validationSecret: string;
}

export interface UpstreamTls {
  readonly sni: string;
  readonly validationSecret: string;
  /** The server certificate must carry a URI SAN matching one of these (any, when empty). */
  readonly uriSans: readonly StringMatcher[];
}

/**
 * Which connections a chain takes: `tls` (first byte 0x16), `raw_buffer` (anything else), or
 * `either` (no transport_protocol in its match).
 */
export type ChainTransport = "tls" | "raw_buffer" | "either";

export interface InboundChain {
  readonly name: string;
  readonly transport: ChainTransport;
  /** Present when the chain terminates TLS. */
  readonly tls?: DownstreamTls;
  /** HTTP RBAC filters in order (Istio: the DENY one, then the ALLOW one). */
  readonly rbac: readonly RbacRules[];
}

/** `vireo/inbound?address=<ip>:<port>`: what the pod's port accepts, and under which policy. */
export interface InboundListenerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly chains: readonly InboundChain[];
}

export interface TrustBundle {
  readonly name: string;
  /** PEM roots. */
  readonly trustedCa: string;
}

export function inboundListenerName(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `vireo/inbound?address=${host}:${port}`;
}

/** The chain a new connection takes, by whether it starts a TLS handshake; none: refused. */
export function selectChain(
  chains: readonly InboundChain[],
  tls: boolean,
): InboundChain | undefined {
  const wanted: ChainTransport = tls ? "tls" : "raw_buffer";
  return chains.find((c) => c.transport === wanted) ?? chains.find((c) => c.transport === "either");
}
