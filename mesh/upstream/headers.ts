// Header hygiene between hops: pseudo-headers and hop-by-hop headers never cross the proxy, in
// either direction and whichever HTTP version each side speaks.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  // The proxy answers `Expect: 100-continue` itself (node does), as Envoy does.
  "expect",
  "host",
]);

function connectionTokens(headers: IncomingHttpHeaders): ReadonlySet<string> | undefined {
  // undici gives a header that came on several lines as an array (node's parser joins them).
  const c: unknown = headers.connection;
  const list = typeof c === "string" ? c : Array.isArray(c) ? c.join(",") : undefined;
  if (list === undefined) return undefined;
  const tokens = list
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "" && t !== "close" && t !== "keep-alive");
  return tokens.length === 0 ? undefined : new Set(tokens);
}

/**
 * The end-to-end headers of `incoming` (one pass, into one new object), then `add`. `te` is
 * kept in requests only as `trailers`, the one value HTTP/2 allows and gRPC sends.
 */
function copyEndToEnd(
  incoming: IncomingHttpHeaders,
  request: boolean,
  add: Readonly<Record<string, string>> | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = incoming.connection === undefined ? undefined : connectionTokens(incoming);
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(name)) continue;
    if (name === "te" && !(request && value === "trailers")) continue;
    if (listed?.has(name) === true) continue;
    out[name] = value;
  }
  if (add !== undefined) for (const name of Object.keys(add)) out[name] = add[name];
  return out;
}

/**
 * End-to-end request headers, without Host (the proxy sets Host or :authority itself), with
 * `add` (the proxy's own peer headers) set last.
 */
export function requestHeaders(
  incoming: IncomingHttpHeaders,
  add?: Readonly<Record<string, string>>,
): OutgoingHttpHeaders {
  return copyEndToEnd(incoming, true, add);
}

/** End-to-end response headers. */
export function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copyEndToEnd(incoming, false, undefined);
}

/** The first value of a header as a string. */
export function headerValue(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  name: string,
): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.join(",");
  return typeof v === "string" ? v : String(v);
}

/** grpc-status as a number, or undefined when absent or not a number. */
export function grpcStatusOf(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders | undefined,
): number | undefined {
  if (headers === undefined) return undefined;
  const v = headerValue(headers, "grpc-status");
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}
