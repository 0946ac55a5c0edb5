// HTTP/1.1 connections of one cluster: a keep-alive Agent capped at the cluster's
// max_connections, and one attempt per call with a connect timeout.
import http from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import type { Endpoint } from "../routing/model.js";
import type { Cancel } from "./cancel.js";
import type { AttemptOutcome, BodyTake, UpstreamRequest } from "./outcome.js";
import { classifyError, errorDetail, failure } from "./outcome.js";
import { responseHeaders } from "./headers.js";
import type { TlsTarget } from "./tls-connect.js";
import { tlsOptions } from "./tls-connect.js";

/** Upstream TLS for each new connection (the current certificate), an error when impossible. */
export type SecureTarget = () => TlsTarget | Error;

/** Idle connections close after this, before node servers' 5 s keep-alive timeout races us. */
const IDLE_TIMEOUT_MS = 4_000;

/**
 * node's Agent with the idle timeout set once per connection. Given a `timeout` option, node's
 * own Agent clears the connection's timer after every response and makes a new one (a Timeout
 * and a bound function) when the connection goes back to the pool, and adds and removes a
 * 'timeout' listener per request. Here the timer is set when a connection is first pooled; reads
 * and writes push it back, and node destroys a pooled connection when it fires (an in-use one is
 * left alone, as before).
 */
class IdleTimeoutAgent extends http.Agent {
  override keepSocketAlive(socket: Duplex): boolean {
    // Every connection the agent makes is a net.Socket (or a TLSSocket).
    if (!(socket instanceof Socket)) return false;
    const idleMs = idleTimeoutOf(socket);
    if (idleMs <= 0) return false;
    socket.setKeepAlive(true, KEEPALIVE_PROBE_MS);
    socket.unref();
    if (socket.timeout !== idleMs) socket.setTimeout(idleMs);
    return true;
  }
}

/**
 * IDLE_TIMEOUT_MS, or less when the server announced a shorter `Keep-Alive: timeout=N` on the
 * response just read (a second before it, as node's Agent does); 0: do not keep the connection.
 */
function idleTimeoutOf(socket: Socket): number {
  const hint = (socket as { _httpMessage?: { res?: http.IncomingMessage } | null })._httpMessage
    ?.res?.headers["keep-alive"];
  if (typeof hint !== "string") return IDLE_TIMEOUT_MS;
  const seconds = /^timeout=(\d+)/.exec(hint)?.[1];
  if (seconds === undefined) return IDLE_TIMEOUT_MS;
  return Math.min(IDLE_TIMEOUT_MS, Math.max(0, Number(seconds) * 1000 - 1000));
}

/** node's default `keepAliveMsecs`: TCP keep-alive probes on pooled connections. */
const KEEPALIVE_PROBE_MS = 1_000;

export interface AttemptOptions {
  readonly connectTimeoutMs: number;
  readonly signal: Cancel;
  /** Called once when the request has a connection (it stops being pending). */
  readonly onConnected: () => void;
}

export class H1Pool {
  private readonly agent: http.Agent;
  /** The agent's pool name of each endpoint (endpoints live as long as their snapshot). */
  private readonly names = new WeakMap<Endpoint, string>();

  constructor(
    maxConnections: number,
    private readonly clock: Clock,
    secure?: SecureTarget,
  ) {
    this.agent = new IdleTimeoutAgent({
      keepAlive: true,
      keepAliveMsecs: KEEPALIVE_PROBE_MS,
      maxSockets: maxConnections,
      maxTotalSockets: maxConnections,
      maxFreeSockets: 256,
      scheduling: "lifo",
    });
    if (secure !== undefined) {
      type Create = (
        o: http.ClientRequestArgs,
        cb: (e: Error | null, s?: Socket) => void,
      ) => Socket | undefined;
      const create: Create = (o, cb) => {
        const t = secure();
        if (t instanceof Error) {
          cb(t);
          return undefined;
        }
        return tls.connect({
          ...tlsOptions(t, ["http/1.1"]),
          host: o.host ?? "",
          port: Number(o.port),
        });
      };
      (this.agent as unknown as { createConnection: Create }).createConnection = create;
    }
  }

  /** New requests get new connections; kept-alive ones close once their request is done. */
  retire(): void {
    (this.agent as unknown as { keepAlive: boolean }).keepAlive = false;
    for (const list of Object.values(this.agent.freeSockets))
      for (const s of list ?? []) s.destroy();
  }

  setMaxConnections(n: number): void {
    this.agent.maxSockets = n;
    this.agent.maxTotalSockets = n;
  }

  /** Whether a request to `ep` would get a connection at once, without connecting or queueing. */
  hasIdle(ep: Endpoint): boolean {
    let name = this.names.get(ep);
    if (name === undefined) {
      name = this.agent.getName({ host: ep.address, port: ep.port });
      this.names.set(ep, name);
    }
    return (this.agent.freeSockets[name]?.length ?? 0) > 0;
  }

  send(
    ep: Endpoint,
    host: string,
    req: UpstreamRequest,
    body: BodyTake,
    opts: AttemptOptions,
  ): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      this.attempt(ep, host, req, body, opts, resolve, false);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private attempt(
    ep: Endpoint,
    host: string,
    req: UpstreamRequest,
    body: BodyTake,
    opts: AttemptOptions,
    resolve: (o: AttemptOutcome) => void,
    staleRetried: boolean,
  ): void {
    const { signal } = opts;
    if (signal.aborted) {
      resolve(failure("aborted", host, "aborted before sending"));
      return;
    }
    let settled = false;
    let connected = false;
    let connectTimer: TimerHandle | undefined;
    let creq: http.ClientRequest;
    const settle = (o: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      connectTimer?.cancel();
      signal.off(onAbort);
      resolve(o);
    };
    const onAbort = (): void => {
      settle(failure("aborted", host, "aborted"));
      creq.destroy();
    };
    const onConnect = (): void => {
      connectTimer?.cancel();
      connected = true;
      opts.onConnected();
    };
    try {
      creq = http.request({
        agent: this.agent,
        host: ep.address,
        port: ep.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        setHost: false,
      });
      // Set here rather than spread into a copy of the headers; they are written at the first write.
      creq.setHeader("host", req.authority);
    } catch (err) {
      settle(failure("connection-termination", host, errorDetail(err)));
      return;
    }
    signal.onAbort(onAbort);
    creq.once("socket", (s: Socket) => {
      if (!s.connecting) {
        onConnect();
        return;
      }
      connectTimer = this.clock.setTimer(opts.connectTimeoutMs, () => {
        creq.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
      });
      s.once(s instanceof tls.TLSSocket ? "secureConnect" : "connect", onConnect);
    });
    creq.once("response", (res) => {
      settle({
        kind: "response",
        host,
        response: {
          status: res.statusCode ?? 502,
          headers: responseHeaders(res.headers),
          body: res,
          endAfterHeaders: false,
          trailers: () => (Object.keys(res.trailers).length === 0 ? undefined : res.trailers),
        },
      });
    });
    creq.on("error", (err) => {
      if (settled) return;
      // A kept-alive connection the server closed as we reused it: nothing was processed, so
      // send again on another connection (node's documented remedy), once and without a body.
      if (creq.reusedSocket && !staleRetried && body.kind === "empty") {
        signal.off(onAbort);
        settled = true;
        this.attempt(ep, host, req, body, opts, resolve, true);
        return;
      }
      settle(failure(classifyError(err, connected), host, errorDetail(err)));
    });
    if (body.kind === "stream") {
      body.stream.once("error", () => creq.destroy());
      body.stream.pipe(creq);
    } else {
      creq.end();
    }
  }
}
