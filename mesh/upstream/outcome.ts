// What one upstream attempt sends and how it ends: a response (whatever its status) or a failure
// named by cause. Failures are values; the router decides what each one means for the request.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

export interface UpstreamRequest {
  readonly method: string;
  /** Sent as Host (HTTP/1.1) or :authority (HTTP/2). */
  readonly authority: string;
  readonly path: string;
  /** End-to-end headers, without Host or pseudo-headers. */
  readonly headers: OutgoingHttpHeaders;
}

/** The request body of one attempt. */
export type BodyTake =
  | { readonly kind: "empty" }
  | { readonly kind: "stream"; readonly stream: Readable }
  /** Consumed by an earlier attempt and not kept: this attempt cannot be made. */
  | { readonly kind: "spent" };

export const EMPTY_BODY: BodyTake = { kind: "empty" };

export interface UpstreamResponse {
  readonly status: number;
  /** End-to-end headers, pseudo-headers removed. */
  readonly headers: OutgoingHttpHeaders;
  /** Closes (ends, fails or is destroyed) exactly once; destroying it aborts the upstream stream. */
  readonly body: Readable;
  /** The upstream ended the stream with its headers (an HTTP/2 trailers-only response). */
  readonly endAfterHeaders: boolean;
  /** Trailers, once `body` has ended. */
  trailers(): IncomingHttpHeaders | undefined;
}

export type FailureReason =
  /** Circuit breaker: too many requests, pending requests or retries (503 UO). */
  | "overflow"
  /** No endpoint, or every endpoint ejected (503 UH). */
  | "no-healthy-upstream"
  /** TCP connect refused, unreachable or timed out (503 UF). */
  | "connect-failure"
  /** The connection closed before response headers (503 UC). */
  | "connection-termination"
  /** An HTTP/2 stream reset by the upstream (503 UR). */
  | "remote-reset"
  /** An HTTP/2 stream refused by the upstream, never processed (503 UR). */
  | "refused-stream"
  /** The attempt's signal fired: a timeout or the downstream went away. */
  | "aborted";

export type AttemptOutcome =
  | { readonly kind: "response"; readonly host: string; readonly response: UpstreamResponse }
  | {
      readonly kind: "failure";
      readonly host: string | undefined;
      readonly reason: FailureReason;
      readonly detail: string;
    };

export function failure(
  reason: FailureReason,
  host: string | undefined,
  detail: string,
): AttemptOutcome {
  return { kind: "failure", host, reason, detail };
}

const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
]);

/** The failure an error means, given whether the connection had been established. */
export function classifyError(err: unknown, connected: boolean): FailureReason {
  const code = (err as { code?: unknown } | null)?.code;
  if (!connected && (typeof code !== "string" || CONNECT_ERRORS.has(code))) {
    return "connect-failure";
  }
  return "connection-termination";
}

export function errorDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
