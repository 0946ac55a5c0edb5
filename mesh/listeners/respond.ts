// Writing the proxy's response downstream, on HTTP/1.1 or HTTP/2 alike: local replies (in gRPC
// form for gRPC requests), upstream responses piped with back-pressure, and trailers.
import http2 from "node:http2";
import type { PeerExchange } from "../telemetry/peer-headers.js";
import type { OutgoingHttpHeaders } from "node:http";
import type { Readable, Writable } from "node:stream";
import { assertNever } from "../../src/common/assert-never.js";
import { encodeGrpcMessage, httpToGrpcStatus } from "../filters/local-reply.js";
import type { ProxyResponse } from "../filters/pipeline.js";
import type { RecordBuilder } from "../filters/request-record.js";
import { grpcStatusOf, responseHeaders } from "../upstream/headers.js";
import type { UpstreamResponse } from "../upstream/outcome.js";

/** What node's HTTP/1.1 and HTTP/2 compatibility responses have in common that we use. */
export interface ResponseSink extends Writable {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
}

export interface ResponseContext {
  readonly record: RecordBuilder;
  readonly grpc: boolean;
  readonly head: boolean;
  /** Fired when the downstream has gone: nothing is written then. */
  readonly signal: { readonly aborted: boolean };
  /** Whether to ask an HTTP/1.1 client to close the connection (the proxy is draining). */
  readonly close: () => boolean;
  /** Adds and reads the peer-workload headers (telemetry); absent: headers pass unchanged. */
  readonly peers?: PeerExchange;
}

/** Resets the downstream stream (HTTP/2) or connection (HTTP/1.1): a truncated response. */
export function resetDownstream(res: ResponseSink): void {
  if (res instanceof http2.Http2ServerResponse)
    res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

function setHeaders(res: ResponseSink, headers: OutgoingHttpHeaders | undefined): void {
  if (headers === undefined) return;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (v !== undefined) res.setHeader(name, v);
  }
}

export function writeResponse(res: ResponseSink, r: ProxyResponse, ctx: ResponseContext): void {
  if (ctx.signal.aborted) {
    if (r.kind === "upstream") r.response.body.destroy();
    return;
  }
  if (ctx.close()) res.setHeader("connection", "close");
  switch (r.kind) {
    case "local":
      writeLocal(res, r, ctx);
      return;
    case "upstream":
      writeUpstream(res, r.response, ctx);
      return;
    default:
      assertNever(r);
  }
}

function writeLocal(
  res: ResponseSink,
  r: Extract<ProxyResponse, { kind: "local" }>,
  ctx: ResponseContext,
): void {
  if (res.headersSent) {
    resetDownstream(res);
    return;
  }
  setHeaders(
    res,
    ctx.peers === undefined ? r.headers : ctx.peers.response(r.headers ?? {}).headers,
  );
  if (ctx.grpc) {
    // Trailers-only: the status rides on the headers of a stream ended with them.
    const g = r.grpcStatus ?? httpToGrpcStatus(r.status);
    ctx.record.status = 200;
    ctx.record.grpcStatus = g;
    res.statusCode = 200;
    res.setHeader("content-type", "application/grpc");
    res.setHeader("grpc-status", String(g));
    if (r.body !== "") res.setHeader("grpc-message", encodeGrpcMessage(r.body));
    res.end();
    return;
  }
  ctx.record.status = r.status;
  res.statusCode = r.status;
  const length = Buffer.byteLength(r.body);
  res.setHeader("content-length", length);
  // A route's response_headers_to_add may have set its own.
  if (length > 0 && r.headers?.["content-type"] === undefined)
    res.setHeader("content-type", "text/plain");
  if (ctx.head || length === 0) {
    res.end();
    return;
  }
  ctx.record.sent += length;
  res.end(r.body);
}

function writeUpstream(res: ResponseSink, upstream: UpstreamResponse, ctx: ResponseContext): void {
  const { record } = ctx;
  let up = upstream;
  if (ctx.peers !== undefined) {
    const step = ctx.peers.response(up.headers);
    if (step.peer !== undefined) record.peer = step.peer;
    up = { ...up, headers: step.headers };
  }
  const body: Readable = up.body;
  record.status = up.status;
  record.grpcStatus = grpcStatusOf(up.headers);
  let done = false;
  res.once("close", () => {
    if (!done) body.destroy();
  });
  if (up.endAfterHeaders) {
    done = true;
    res.statusCode = up.status;
    setHeaders(res, up.headers);
    res.end();
    body.on("error", () => undefined);
    body.resume();
    return;
  }
  res.writeHead(up.status, up.headers);
  body.on("data", (chunk: Buffer) => {
    record.sent += chunk.length;
  });
  body.once("end", () => {
    done = true;
    const trailers = up.trailers();
    if (trailers !== undefined) {
      const t = responseHeaders(trailers);
      record.grpcStatus = grpcStatusOf(t) ?? record.grpcStatus;
      res.addTrailers(t);
    }
    res.end();
  });
  body.once("error", () => {
    done = true;
    if (!record.flags.includes("UT")) record.flag("UR");
    resetDownstream(res);
  });
  body.pipe(res, { end: false });
}
