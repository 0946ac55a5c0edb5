// HTTP/1.x requests node's parser lets through but that a proxy must not forward, because the
// next hop could frame or route them differently (RFC 9112 §6.1, §3.2; nginx refuses each).
import type http from "node:http";

export interface Refusal {
  readonly status: number;
  readonly reason: string;
}

/**
 * Why the request must be refused, or undefined. Costs two comparisons for a request without
 * Transfer-Encoding; `rawHeaderLimit` is twice the largest number of header lines accepted.
 */
export function refuseFraming(
  req: http.IncomingMessage,
  rawHeaderLimit: number,
): Refusal | undefined {
  if (req.httpVersionMajor !== 1) return { status: 505, reason: "HTTP version not supported" };
  // Node's parser stops collecting one line past the limit, silently: that line says there were more.
  if (req.rawHeaders.length > rawHeaderLimit) return { status: 431, reason: "too many headers" };
  const headers = req.headers;
  const te = headers["transfer-encoding"];
  if (te !== undefined) {
    // HTTP/1.0 has no chunked framing: a recipient must treat it as faulty framing.
    if (req.httpVersionMinor === 0) return { status: 400, reason: "transfer-encoding on HTTP/1.0" };
    // Only chunked alone, which node's parser framed the body by; anything else is not
    // something a next hop is sure to frame the same way.
    if (te.length !== 7 || te.toLowerCase() !== "chunked")
      return { status: 501, reason: "unsupported transfer-encoding" };
  }
  // Duplicate Host lines arrive joined with ", " (joinDuplicateHeaders): which one routes?
  if (headers.host?.includes(",") === true) return { status: 400, reason: "more than one host" };
  return undefined;
}
