// Upstream mutual TLS: the proxy presents its own certificate, verifies the server's chain
// against the cluster's trust bundle and its URI SAN against the identities the destination
// service may run as (Istio's secure naming). Host names play no part: SPIFFE URIs do.
import type { PeerCertificate } from "node:tls";
import type tls from "node:tls";
import type { UpstreamTls } from "../routing/security-model.js";
import { matchString } from "../routing/matchers.js";
import type { TlsMaterialSource } from "../tls/material.js";
import { uriSans } from "../tls/peer.js";

export interface TlsTarget {
  readonly context: tls.SecureContext;
  readonly servername: string;
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** Upstream TLS for each new connection (the current certificate), an error when impossible. */
export type SecureTarget = () => TlsTarget | Error;

export class UpstreamTlsError extends Error {
  override readonly name = "UpstreamTlsError";
  readonly code = "ERR_VIREO_UPSTREAM_TLS";
}

/** Undefined when the certificate's URI SANs satisfy the matchers (any URI SAN when none). */
export function checkPeerUris(config: UpstreamTls, cert: PeerCertificate): Error | undefined {
  const uris = uriSans(cert.subjectaltname);
  if (uris.length === 0) return new UpstreamTlsError("server certificate has no URI SAN");
  if (config.uriSans.length === 0) return undefined;
  if (uris.some((u) => config.uriSans.some((m) => matchString(m, u)))) return undefined;
  return new UpstreamTlsError(`server identity ${uris.join(", ")} is not one the service may have`);
}

/** What a new connection needs, or why there can be none yet (no certificate or bundle). */
export function tlsTarget(
  config: UpstreamTls,
  material: TlsMaterialSource | undefined,
): TlsTarget | UpstreamTlsError {
  const context = material?.context(config.validationSecret);
  if (context === undefined)
    return new UpstreamTlsError(`no certificate or trust bundle ${config.validationSecret} yet`);
  return {
    context,
    servername: config.sni,
    checkServerIdentity: (_host, cert) => checkPeerUris(config, cert),
  };
}

/** Connect options for node's tls.connect / http2.connect. */
export function tlsOptions(t: TlsTarget, alpn: readonly string[]): tls.ConnectionOptions {
  return {
    secureContext: t.context,
    // Node refuses IP addresses as SNI; the cluster name (Istio's) is what peers expect anyway.
    ...(t.servername !== "" && { servername: t.servername }),
    rejectUnauthorized: true,
    checkServerIdentity: t.checkServerIdentity,
    ALPNProtocols: [...alpn],
  };
}
