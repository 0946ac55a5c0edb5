// Who is calling the control plane's port: a service-account token checked with TokenReview, or
// a client certificate from our CA. Shared by the certificate service and the xDS streams.
import type { PeerCertificate } from "node:tls";
import type * as grpc from "@grpc/grpc-js";
import type { WorkloadIdentity } from "./spiffe.js";
import { parseSpiffeUri } from "./spiffe.js";
import type { TokenReviewer } from "./token-review.js";
import { bearerToken } from "./token-review.js";

export type Caller =
  | {
      readonly kind: "token";
      readonly namespace: string;
      readonly serviceAccount: string;
    }
  | { readonly kind: "certificate"; readonly identity: WorkloadIdentity };

export type Authentication =
  { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly reason: string };

/** What grpc-js reports of a call's TLS peer (its AuthContext). */
export interface PeerContext {
  readonly sslPeerCertificate?: PeerCertificate;
}

/** The parts of a grpc-js server call authentication reads. */
export interface CallCredentials {
  readonly metadata: grpc.Metadata;
  getAuthContext(): PeerContext | null;
}

export function callerNamespace(c: Caller): string {
  return c.kind === "token" ? c.namespace : c.identity.namespace;
}

export function callerServiceAccount(c: Caller): string {
  return c.kind === "token" ? c.serviceAccount : c.identity.serviceAccount;
}

export function describeCaller(c: Caller): string {
  return c.kind === "token"
    ? `service account ${c.namespace}/${c.serviceAccount} (token)`
    : `spiffe://${c.identity.trustDomain}/ns/${c.identity.namespace}/sa/${c.identity.serviceAccount} (certificate)`;
}

export class CallerAuthenticator {
  constructor(
    private readonly reviewer: TokenReviewer,
    private readonly trustDomain: string,
  ) {}

  /** A bearer token, else a client certificate the TLS layer verified against our roots. */
  async authenticate(call: CallCredentials, allowCertificate = true): Promise<Authentication> {
    const header = call.metadata.get("authorization")[0];
    if (header !== undefined) {
      const token = bearerToken(typeof header === "string" ? header : header.toString());
      if (token === undefined) return { ok: false, reason: "authorization is not a Bearer token" };
      try {
        const r = await this.reviewer.review(token);
        if (r.kind === "rejected") return { ok: false, reason: `token refused: ${r.reason}` };
        return {
          ok: true,
          caller: { kind: "token", namespace: r.namespace, serviceAccount: r.serviceAccount },
        };
      } catch (err) {
        return {
          ok: false,
          reason: `token review failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    }
    if (allowCertificate) {
      const identity = peerIdentity(call.getAuthContext(), this.trustDomain);
      if (identity !== undefined) return { ok: true, caller: { kind: "certificate", identity } };
    }
    return {
      ok: false,
      reason: "no credentials: send a service-account token or a client certificate",
    };
  }
}

/**
 * The SPIFFE identity of a verified client certificate. grpc-js reports a peer certificate only
 * when the TLS handshake verified it against the configured roots.
 */
export function peerIdentity(
  ctx: PeerContext | null,
  trustDomain: string,
): WorkloadIdentity | undefined {
  const san = ctx?.sslPeerCertificate?.subjectaltname;
  if (san === undefined) return undefined;
  const uris = san
    .split(/,\s*/)
    .filter((s) => s.startsWith("URI:"))
    .map((s) => s.slice(4));
  if (uris.length !== 1) return undefined;
  const id = parseSpiffeUri(uris[0] ?? "");
  return id?.trustDomain === trustDomain ? id : undefined;
}
