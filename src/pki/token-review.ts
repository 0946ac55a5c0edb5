// Who a bearer token belongs to, as the API server says (TokenReview with audience "vireo").
import type { AuthenticationV1Api } from "@kubernetes/client-node";
import { serviceAccountFromUsername } from "./spiffe.js";

export const TOKEN_AUDIENCE = "vireo";

export type TokenReviewResult =
  | { readonly kind: "serviceAccount"; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: "rejected"; readonly reason: string };

export interface TokenReviewer {
  review(token: string): Promise<TokenReviewResult>;
}

export class KubeTokenReviewer implements TokenReviewer {
  constructor(
    private readonly api: AuthenticationV1Api,
    private readonly audience = TOKEN_AUDIENCE,
  ) {}

  async review(token: string): Promise<TokenReviewResult> {
    const res = await this.api.createTokenReview({
      body: { spec: { token, audiences: [this.audience] } },
    });
    const st = res.status;
    if (st?.authenticated !== true) {
      return { kind: "rejected", reason: st?.error ?? "token not authenticated" };
    }
    // An API server that ignores audiences answers without them; a token for another audience
    // must not pass.
    if (!(st.audiences ?? []).includes(this.audience)) {
      return { kind: "rejected", reason: `token is not for audience "${this.audience}"` };
    }
    const sa = serviceAccountFromUsername(st.user?.username ?? "");
    if (sa === undefined) {
      return {
        kind: "rejected",
        reason: `${st.user?.username ?? "(no user)"} is not a service account`,
      };
    }
    return { kind: "serviceAccount", ...sa };
  }
}

/** The token of an `authorization: Bearer <token>` value, or undefined. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m?.[1];
}
