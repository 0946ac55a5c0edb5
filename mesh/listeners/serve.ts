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
import type { Handler, ProxyResponse } from "../filters/pipeline.js";
import { RequestBody } from "../filters/request-body.js";
import type { Direction, RequestDoneHook } from "../filters/request-record.js";
import { RecordBuilder } from "../filters/request-record.js";
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
  /** Larger request bodies get 413; 0 for no limit. */
  readonly maxRequestBodyBytes: number;
  readonly draining: () => boolean;
  /** Counts a request in flight; the returned function ends it. */
  readonly begin: () => () => void;
  /** Peer-workload headers for telemetry: set on the way out, read and stripped on the way in. */
  readonly peers?: PeerExchange;
}

const ignore = (): void => undefined;

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

function bodyOf(req: NodeRequest): { present: boolean; length: number | undefined } {
  const cl = req.headers["content-length"];
  const length = cl === undefined ? undefined : Number(cl);
  if (req instanceof http2.Http2ServerRequest) {
    return { present: !req.stream.endAfterHeaders, length };
  }
  const chunked = req.headers["transfer-encoding"] !== undefined;
  return { present: chunked || (length !== undefined && length > 0), length };
}

export function serve(deps: ServeDeps, req: NodeRequest, res: NodeResponse): void {
  const sink: ResponseSink = res;
  const http2Request = req instanceof http2.Http2ServerRequest;
  const target = http2Request
    ? requestTarget(req.url, req.authority)
    : requestTarget(req.url ?? "", req.headers.host);
  const method = req.method ?? "";
  const grpc = req.headers["content-type"]?.startsWith("application/grpc") === true;
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
  const { present, length } = bodyOf(req);
  const body = new RequestBody(present ? req : undefined, deps.retryBufferBytes, length);
  // Failures on either side are handled where they matter; they must never be unhandled.
  req.on("error", ignore);
  res.on("error", ignore);
  const abort = new AbortController();
  const end = deps.begin();
  let finished = false;
  res.once("finish", () => {
    finished = true;
  });
  res.once("close", () => {
    if (!finished) {
      abort.abort();
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
    signal: abort.signal,
    close: () => !http2Request && deps.draining(),
    ...(deps.peers === undefined ? {} : { peers: deps.peers }),
  };
  const reply = (r: ProxyResponse): void => {
    try {
      writeResponse(sink, r, ctx);
    } catch (err) {
      // Headers node refuses to write (an upstream's, say) must not take the proxy down.
      deps.log.warn("response not writable", { error: describeError(err), path: record.path });
      if (r.kind === "upstream") r.response.body.destroy();
      resetDownstream(sink);
    }
  };
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
  const request = {
    method,
    authority: target.authority,
    lookupAuthority: deps.lookupKey(target.authority),
    path: target.path,
    headers: peerHeaders(deps, req.headers, record),
    http2: http2Request,
    grpc,
    body,
    signal: abort.signal,
    ...(connection !== undefined && { connection }),
  };
  deps.handler({ request, record }).then(reply, (err: unknown) => {
    deps.log.error("request path failed", { error: describeError(err), path: target.path });
    reply(localReply(500, "internal proxy error"));
  });
}

/** The request headers to forward: peer headers replaced (outbound) or read and removed (inbound). */
function peerHeaders<H extends NodeRequest["headers"]>(
  deps: ServeDeps,
  headers: H,
  record: RecordBuilder,
): H {
  if (deps.peers === undefined) return headers;
  const step = deps.peers.request(headers);
  if (step.peer !== undefined) record.peer = step.peer;
  return step.headers;
}
