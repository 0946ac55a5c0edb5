// Responses the proxy makes itself, with Envoy's bodies and flags, and their gRPC form: HTTP 200
// with grpc-status and grpc-message in a trailers-only response.
import type { FailureReason } from "../upstream/outcome.js";
import type { ProxyResponse } from "./pipeline.js";
import type { RecordBuilder, ResponseFlag } from "./request-record.js";

export const GRPC_UNAVAILABLE = 14;

export function localReply(
  status: number,
  body: string,
  extra: Partial<Pick<Extract<ProxyResponse, { kind: "local" }>, "headers" | "grpcStatus">> = {},
): ProxyResponse {
  return { kind: "local", status, body, ...extra };
}

const RESET_BODY = "upstream connect error or disconnect/reset before headers. reset reason:";

type NoResponse = Exclude<FailureReason, "aborted">;

const FAILURES: Readonly<Record<NoResponse, { flag: ResponseFlag; body: string }>> = {
  overflow: { flag: "UO", body: `${RESET_BODY} overflow` },
  "no-healthy-upstream": { flag: "UH", body: "no healthy upstream" },
  "connect-failure": { flag: "UF", body: `${RESET_BODY} connection failure` },
  "connection-termination": { flag: "UC", body: `${RESET_BODY} connection termination` },
  "remote-reset": { flag: "UR", body: `${RESET_BODY} remote reset` },
  "refused-stream": { flag: "UR", body: `${RESET_BODY} remote refused stream reset` },
};

/** The 503 for an attempt that got no response, with its flag recorded. */
export function failureReply(reason: NoResponse, record: RecordBuilder): ProxyResponse {
  const { flag, body } = FAILURES[reason];
  record.flag(flag);
  return reason === "overflow"
    ? localReply(503, body, { headers: { "x-envoy-overloaded": "true" } })
    : localReply(503, body);
}

/** gRPC's mapping of HTTP statuses (doc/http-grpc-status-mapping.md), as Envoy applies it. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return 2;
  }
}

/** grpc-message is percent-encoded outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (ch) =>
    Array.from(
      Buffer.from(ch, "utf8"),
      (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    ).join(""),
  );
}
