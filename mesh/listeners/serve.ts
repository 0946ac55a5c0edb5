// One downstream request, HTTP/1.1 or HTTP/2: its target parsed (origin form with Host, or the
// absolute form HTTP_PROXY clients send), run through the request path, the response written,
// and its record handed to `onRequestDone` when the exchange closes.
import type { PeerExchange } from "../telemetry/peer-headers.js";
import type http from "node:http";
import http2 from "node:http2";
import type { Clock } from "../../src/common/clock.js";
import { describeError } from "../../src/common/errors.js";
import type { Logger } from "../../src/common/logger.js";
import { localReply } from "../filters/local-reply.js";
import type { Handler, ProxyRequest, ProxyResponse } from "../filters/pipeline.js";
import type { BodyCap } from "../filters/request-body.js";
import { NO_BODY, RequestBody } from "../filters/request-body.js";
import type { Direction, RequestDoneHook } from "../filters/request-record.js";
import { RecordBuilder } from "../filters/request-record.js";
import { Cancel } from "../upstream/cancel.js";
import type { BodyWatch, WatchedBody } from "./body-watch.js";
import { connectionSecurity } from "./inbound-guard.js";
import type { ResponseSink } from "./respond.js";
import { resetDownstream, writeResponse } from "./respond.js";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ServeDeps {
  readonly direction: Direction;
  readonly handler: Handler;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onRequestDone: RequestDoneHook;
  /** The route-table key for an authority (bare Service names expanded). */
  readonly lookupKey: (authority: string) => string;
  /** Request bodies up to this size are kept for retries and mirrors. */
  readonly retryBufferBytes: number;
  /** Larger request bodies get 413 (by Content-Length, or cut off as they arrive); 0: none. */
  readonly maxRequestBodyBytes: number;
  /** Cuts off request bodies that stall (the request-body idle timeout). */
  readonly watch: BodyWatch;
  readonly draining: () => boolean;
  /** Counts a request in flight; the returned function ends it. */
  readonly begin: () => () => void;
  /** Peer-workload headers for telemetry: set on the way out, read and stripped on the way in. */
  readonly peers?: PeerExchange;
}

const ignore = (): void => undefined;

/**
 * What cuts a request off while its body arrives: 408 when it stalls (flag SI, as Envoy's stream
 * idle timeout), 413 when it grows past the limit; a reset instead once the response has begun.
 * Either way the attempt upstream is cancelled, so the upstream never sees the body end.
 */
class BodyGuard implements WatchedBody, BodyCap {
  body: RequestBody = NO_BODY;
  private over = false;

  constructor(
    readonly source: NodeRequest,
    readonly maxBytes: number,
    private readonly record: RecordBuilder,
    private readonly res: ResponseSink,
    private readonly cancel: Cancel,
    private readonly watch: BodyWatch,
    private readonly reply: (r: ProxyResponse) => void,
  ) {}

  progress(): number {
    return this.body.received + this.record.sent;
  }

  expire(): void {
    this.record.flag("SI");
    this.cut(408, "stream timeout");
  }

  exceeded(): void {
    this.cut(413, "Payload Too Large");
  }

  private cut(status: number, text: string): void {
    if (this.over) return;
    this.over = true;
    this.watch.delete(this);
    const src = this.source;
    if (this.res.headersSent) {
      resetDownstream(this.res);
    } else if (src instanceof http2.Http2ServerRequest) {
      this.reply(localReply(status, text));
      // Then RST_STREAM NO_ERROR, which node sends once the response is written: the client is
      // to stop sending (RFC 9113 §8.1); else the stream stays half open as long as it likes.
      src.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    } else {
      // The rest of an HTTP/1.1 body is never read: the connection cannot carry another request.
      this.reply(localReply(status, text, { headers: { connection: "close" } }));
    }
    this.cancel.abort();
  }
}

export interface RequestTarget {
  readonly authority: string;
  readonly path: string;
}

const AUTHORITY = /^(?:[a-z0-9\-._~!$&'()*+,;=]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** Origin form (`/x` with Host) or absolute form (`http://reviews:9080/x`); else malformed. */
export function requestTarget(url: string, host: string | undefined): RequestTarget | undefined {
  let authority = host;
  let path = url;
  if (!url.startsWith("/")) {
    const m = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(url);
    if (m === null) return undefined;
    authority = m[1];
    const rest = m[2] ?? "";
    path = rest.startsWith("/") ? rest : `/${rest}`;
  }
  if (authority === undefined || !AUTHORITY.test(authority)) return undefined;
  return { authority: authority.toLowerCase(), path };
}

function hasBody(req: NodeRequest, length: number | undefined): boolean {
  if (req instanceof http2.Http2ServerRequest) return !req.stream.endAfterHeaders;
  const chunked = req.headers["transfer-encoding"] !== undefined;
  return chunked || (length !== undefined && length > 0);
}

// Per request: one record, one cancellation, and the closures node's events need; no
// AbortController and no copy of the headers (the router builds the upstream set in one pass).
export function serve(deps: ServeDeps, req: NodeRequest, res: NodeResponse): void {
  const sink: ResponseSink = res;
  const http2Request = req instanceof http2.Http2ServerRequest;
  const headers = req.headers;
  const target = http2Request
    ? requestTarget(req.url, req.authority)
    : requestTarget(req.url ?? "", headers.host);
  const method = req.method ?? "";
  const grpc = headers["content-type"]?.startsWith("application/grpc") === true;
  const record = new RecordBuilder(
    deps.direction,
    method,
    target?.authority ?? "",
    target?.path ?? req.url ?? "",
    grpc ? "grpc" : "http",
    deps.clock.now(),
  );
  const connection = connectionSecurity(req.socket);
  if (connection !== undefined) {
    record.mutualTls = connection.mutualTls;
    record.peerPrincipal = connection.peerPrincipal;
  }
  const cl = headers["content-length"];
  const length = cl === undefined ? undefined : Number(cl);
  const cancel = new Cancel();
  let guard: BodyGuard | undefined;
  let body = NO_BODY;
  if (hasBody(req, length)) {
    const max = deps.maxRequestBodyBytes;
    if (max > 0 || deps.watch.idleTimeoutMs > 0) {
      guard = new BodyGuard(req, max, record, sink, cancel, deps.watch, reply);
    }
    body = new RequestBody(req, deps.retryBufferBytes, length, max > 0 ? guard : undefined);
    if (guard !== undefined) guard.body = body;
  }
  // Failures on either side are handled where they matter; they must never be unhandled.
  req.on("error", ignore);
  res.on("error", ignore);
  const end = deps.begin();
  let finished = false;
  // `on`, not `once`: each fires at most once, and `once` wraps every listener in another.
  // HTTP/2's compatibility response emits "finish" whenever its stream closes, reset by the
  // client or not: there the response is complete if the proxy ended it.
  if (!http2Request)
    res.on("finish", () => {
      finished = true;
    });
  res.on("close", () => {
    if (guard !== undefined) deps.watch.delete(guard);
    if (!(http2Request ? sink.writableEnded : finished)) {
      cancel.abort();
      if (record.flags.length === 0) record.flag("DC");
    }
    record.received = body.received;
    end();
    deps.onRequestDone(record.seal(deps.clock.now()));
  });
  const ctx = {
    record,
    grpc,
    head: method === "HEAD",
    signal: cancel,
    close: () => !http2Request && deps.draining(),
    ...(deps.peers === undefined ? {} : { peers: deps.peers }),
  };
  // A declaration, so the body guard made above can hold it; it runs only after `ctx` exists.
  function reply(r: ProxyResponse): void {
    try {
      writeResponse(sink, r, ctx);
    } catch (err) {
      // Headers node refuses to write (an upstream's, say) must not take the proxy down.
      deps.log.warn("response not writable", { error: describeError(err), path: record.path });
      if (r.kind === "upstream") r.response.body.destroy();
      resetDownstream(sink);
    }
  }
  if (target === undefined) {
    record.flag("DPE");
    const close = http2Request ? {} : { headers: { connection: "close" } };
    reply(localReply(400, "malformed request target or host", close));
    return;
  }
  if (deps.maxRequestBodyBytes > 0 && length !== undefined && length > deps.maxRequestBodyBytes) {
    reply(localReply(413, "request body too large"));
    return;
  }
  if (guard !== undefined) deps.watch.add(guard);
  const peers = deps.peers;
  let forwarded = headers;
  if (peers !== undefined) {
    const step = peers.incoming(headers);
    if (step.peer !== undefined) record.peer = step.peer;
    forwarded = step.headers;
  }
  const request: ProxyRequest = {
    method,
    authority: target.authority,
    lookupAuthority: deps.lookupKey(target.authority),
    path: target.path,
    headers: forwarded,
    ...(peers?.added !== undefined && { addHeaders: peers.added }),
    http2: http2Request,
    grpc,
    body,
    signal: cancel,
    ...(connection !== undefined && { connection }),
  };
  deps.handler({ request, record }).then(reply, (err: unknown) => {
    deps.log.error("request path failed", { error: describeError(err), path: target.path });
    reply(localReply(500, "internal proxy error"));
  });
}
