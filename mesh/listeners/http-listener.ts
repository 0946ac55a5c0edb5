// One listening port serving HTTP/1.1 and HTTP/2 with prior knowledge (h2c) side by side: the
// first bytes of each connection say which (the HTTP/2 preface), then node's server for that
// protocol takes the connection. Limits: header size and count, slow headers, idle keep-alive,
// HTTP/2 streams per connection; HTTP/1.x framing node accepts but a proxy must not forward.
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { Clock } from "../../src/common/clock.js";
import { refuseFraming } from "./h1-framing.js";
import type { NodeRequest, NodeResponse } from "./serve.js";

export interface ListenerLimits {
  /** Largest request head (node's maxHeaderSize; HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE). */
  readonly maxHeaderBytes: number;
  /** Time allowed to receive a request head: the slow-header (slowloris) guard. */
  readonly headersTimeoutMs: number;
  /** Idle time after which a kept-alive downstream connection is closed. */
  readonly keepAliveTimeoutMs: number;
  /** Larger request bodies get 413 (by Content-Length, or cut off as they arrive); 0: none. */
  readonly maxRequestBodyBytes: number;
  /** More header lines (HTTP/1.1) or fields (HTTP/2) get 431 (a reset on HTTP/2). */
  readonly maxHeadersCount: number;
  /** A request body that moves no byte either way for this long is cut off (408); 0: never. */
  readonly requestBodyIdleTimeoutMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams a client may have open on a connection. */
  readonly maxConcurrentStreams: number;
}

export const DEFAULT_LIMITS: ListenerLimits = {
  // Envoy's max_request_headers_kb default.
  maxHeaderBytes: 60 * 1024,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 60_000,
  // None, as Envoy for a streamed body: a mesh must not cap uploads the app accepts.
  maxRequestBodyBytes: 0,
  // Envoy's max_headers_count default.
  maxHeadersCount: 100,
  // Envoy's stream_idle_timeout default (nginx's client_body_timeout is 60 s).
  requestBodyIdleTimeoutMs: 300_000,
  // Go's net/http default (nginx: 128; node and Envoy: unbounded).
  maxConcurrentStreams: 250,
};

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** "h2" once the preface is complete, "h1" on the first byte that differs, else undefined. */
export function sniffProtocol(seen: Buffer): "h1" | "h2" | undefined {
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return "h1";
  return n === PREFACE.length ? "h2" : undefined;
}

/** Node's parse errors by the status they are answered with; anything else is a 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

type ConnectionListener = (this: http.Server, socket: Socket) => void;

export class HttpListener {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sniffing = new Set<Socket>();

  constructor(
    onRequest: (req: NodeRequest, res: NodeResponse) => void,
    private readonly limits: ListenerLimits,
    private readonly clock: Clock,
    /** A request node rejected before the proxy saw it, by the status it was answered with. */
    onMalformed: (status: number) => void,
    /** A connection stage before HTTP (TLS termination); it hands on the socket or closes it. */
    accept?: (socket: Socket, proceed: (s: Socket) => void) => void,
  ) {
    this.h1 = http.createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: 0,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.max(10, Math.min(1_000, limits.headersTimeoutMs / 4)),
        // Duplicates are forwarded joined, as Envoy does, instead of some dropped silently.
        joinDuplicateHeaders: true,
      },
      (req: http.IncomingMessage, res: http.ServerResponse) => {
        const refusal = refuseFraming(req, 2 * limits.maxHeadersCount);
        if (refusal === undefined) {
          onRequest(req, res);
          return;
        }
        onMalformed(refusal.status);
        res.writeHead(refusal.status, { connection: "close", "content-length": 0 });
        res.end();
      },
    );
    // One more than accepted, so that a request with too many is seen and refused.
    this.h1.maxHeadersCount = limits.maxHeadersCount + 1;
    this.h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      // The client went away mid-request: nothing to answer, and not a protocol error.
      if (err.code === "ECONNRESET" || err.code === "HPE_INVALID_EOF_STATE") {
        socket.destroy();
        return;
      }
      const status = CLIENT_ERROR_STATUS[err.code ?? ""] ?? 400;
      onMalformed(status);
      if (socket.writable && !socket.destroyed) {
        const reason = http.STATUS_CODES[status] ?? "Bad Request";
        socket.end(
          `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
      } else {
        socket.destroy();
      }
    });
    this.h1.on("connect", (_req: http.IncomingMessage, socket: Socket) => {
      socket.end(
        "HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
      );
    });
    this.h2 = http2.createServer(
      {
        settings: {
          maxHeaderListSize: limits.maxHeaderBytes,
          maxConcurrentStreams: limits.maxConcurrentStreams,
          enablePush: false,
        },
        // Pseudo-headers count too.
        maxHeaderListPairs: limits.maxHeadersCount + 4,
      },
      onRequest,
    );
    this.h2.on("session", (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.once("close", () => {
        this.sessions.delete(s);
      });
      s.on("error", () => {
        s.destroy();
      });
      s.setTimeout(limits.keepAliveTimeoutMs, () => {
        s.close();
      });
    });
    const h1Listeners = this.h1.listeners("connection") as ConnectionListener[];
    this.h1.removeAllListeners("connection");
    this.h1.on("connection", (socket: Socket) => {
      if (accept === undefined) {
        this.sniff(socket, h1Listeners);
        return;
      }
      this.sniffing.add(socket);
      socket.once("close", () => this.sniffing.delete(socket));
      accept(socket, (s) => {
        this.sniffing.delete(socket);
        this.sniff(s, h1Listeners);
      });
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.h1.once("error", reject);
      this.h1.listen(port, host, () => {
        this.h1.off("error", reject);
        resolve(this.h1.address() as AddressInfo);
      });
    });
  }

  /**
   * Serves a connection accepted elsewhere (a capture listener that looked at it first), with
   * the bytes it read already unshifted. Node's slow-header check runs only for a server that
   * listens itself; the capture listener's own detection timeout and the keep-alive timeout
   * still bound such a connection.
   */
  take(socket: Socket): void {
    this.h1.emit("connection", socket);
  }

  /** Stops accepting; idle HTTP/1.1 connections close and HTTP/2 sessions get GOAWAY. */
  stopAccepting(): void {
    if (this.h1.listening) this.h1.close();
    for (const s of this.sniffing) s.destroy();
    for (const s of this.sessions) s.close();
  }

  closeIdle(): void {
    this.h1.closeIdleConnections();
  }

  destroy(): void {
    this.stopAccepting();
    this.h1.closeAllConnections();
    for (const s of this.sessions) s.destroy();
  }

  private sniff(socket: Socket, h1Listeners: readonly ConnectionListener[]): void {
    this.sniffing.add(socket);
    let seen: Buffer = Buffer.alloc(0);
    const timer = this.clock.setTimer(this.limits.headersTimeoutMs, () => {
      socket.destroy();
    });
    const stop = (): void => {
      timer.cancel();
      this.sniffing.delete(socket);
      socket.off("data", onData);
      socket.off("error", onError);
    };
    const onError = (): void => {
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const protocol = sniffProtocol(seen);
      if (protocol === undefined) return;
      stop();
      socket.pause();
      socket.unshift(seen);
      if (protocol === "h2") this.h2.emit("connection", socket);
      else for (const l of h1Listeners) l.call(this.h1, socket);
      process.nextTick(() => {
        socket.resume();
      });
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.once("close", stop);
  }
}
