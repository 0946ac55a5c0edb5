// HTTP/1.1 connections of one cluster: an undici Client per connection (its llhttp parser, and
// none of node's ClientRequest and IncomingMessage per request), kept alive per endpoint and
// reused last-in first-out, at most max_connections across the cluster's endpoints. Requests
// beyond the cap wait in order; an idle connection to one endpoint gives way to another's.
import type { Dispatcher } from "undici";
import Client from "undici/lib/dispatcher/client.js";
import type { Clock } from "../../src/common/clock.js";
import type { Endpoint } from "../routing/model.js";
import type { Cancel } from "./cancel.js";
import { upstreamConnector } from "./h1-connect.js";
import type { Connection } from "./h1-exchange.js";
import { BodyFeed, H1Exchange } from "./h1-exchange.js";
import type { AttemptOutcome, BodyTake, UpstreamRequest } from "./outcome.js";
import { failure } from "./outcome.js";
import type { SecureTarget } from "./tls-connect.js";

export type { SecureTarget } from "./tls-connect.js";

/** Idle connections close after this, before node servers' 5 s keep-alive timeout races us. */
const IDLE_TIMEOUT_MS = 4_000;
/** Or this long before a shorter `Keep-Alive: timeout=N` that the server announced. */
const IDLE_MARGIN_MS = 1_000;

export interface AttemptOptions {
  readonly connectTimeoutMs: number;
  readonly signal: Cancel;
  /** Called once when the request has a connection (it stops being pending). */
  readonly onConnected: () => void;
}

/** One connection: a Client carrying one request at a time. */
interface Conn {
  readonly client: Client;
  readonly host: string;
  busy: boolean;
  /** It has a socket: between the Client's connect and disconnect events. */
  open: boolean;
  /** Responses completed on its current socket: a request on a used one may find it stale. */
  answered: number;
  /** Counted in the pool's total (until it closes or is closed). */
  counted: boolean;
}

export class H1Pool {
  /** Idle connections per endpoint, the most recently used last. */
  private readonly idle = new Map<string, Conn[]>();
  private readonly conns = new Set<Conn>();
  /** Requests waiting for a connection at the cap, oldest first. */
  private readonly waiting: Slot[] = [];
  private retired = false;
  private closed = false;
  private connectTimeoutMs = 1_000;
  private readonly connect: ReturnType<typeof upstreamConnector>;

  constructor(
    private maxConnections: number,
    clock: Clock,
    secure?: SecureTarget,
  ) {
    this.connect = upstreamConnector(clock, () => this.connectTimeoutMs, secure);
  }

  /** New requests get new connections; kept-alive ones close once their request is done. */
  retire(): void {
    this.retired = true;
    for (const list of this.idle.values()) for (const c of [...list]) this.drop(c);
  }

  setMaxConnections(n: number): void {
    this.maxConnections = n;
    let over = this.conns.size - n;
    while (over > 0 && this.dropIdle(undefined)) over--;
    this.serveWaiting();
  }

  /** Whether a request to `host` would get a connection at once, without connecting or queueing. */
  hasIdle(host: string): boolean {
    return this.idle.has(host);
  }

  send(
    ep: Endpoint,
    host: string,
    req: UpstreamRequest,
    body: BodyTake,
    opts: AttemptOptions,
  ): Promise<AttemptOutcome> {
    this.connectTimeoutMs = opts.connectTimeoutMs;
    return new Promise((resolve) => {
      this.attempt(ep, host, req, body, opts, resolve, false);
    });
  }

  close(): void {
    this.closed = true;
    this.retired = true;
    for (const w of this.waiting.splice(0)) w.exchange.fail("connection pool closed");
    for (const c of [...this.conns]) this.drop(c);
  }

  private attempt(
    ep: Endpoint,
    host: string,
    req: UpstreamRequest,
    body: BodyTake,
    opts: AttemptOptions,
    resolve: (o: AttemptOutcome) => void,
    resent: boolean,
  ): void {
    if (opts.signal.aborted) {
      resolve(failure("aborted", host, "aborted before sending"));
      return;
    }
    if (this.closed) {
      resolve(failure("connection-termination", host, "connection pool closed"));
      return;
    }
    const slot = new Slot(this, ep, host, req, body, opts, resolve, resent);
    const c = this.acquire(ep, host);
    if (c === undefined) this.waiting.push(slot);
    else slot.start(c);
  }

  /** Sends `slot`'s request again on another connection (a stale one lost it). */
  resend(slot: Slot): void {
    this.attempt(slot.ep, slot.host, slot.req, slot.body, slot.opts, slot.resolve, true);
  }

  /** `slot` gives up its connection, or its place in the queue, before its request was sent. */
  abandon(slot: Slot): void {
    if (slot.conn !== undefined) {
      this.drop(slot.conn);
      this.serveWaiting();
      return;
    }
    const i = this.waiting.indexOf(slot);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** An idle connection to `host`, else a new one within the cap; undefined: wait. */
  private acquire(ep: Endpoint, host: string): Conn | undefined {
    const list = this.idle.get(host);
    if (list !== undefined) {
      const c = list.pop();
      if (list.length === 0) this.idle.delete(host);
      if (c !== undefined) return c;
    }
    if (this.conns.size >= this.maxConnections && !this.dropIdle(host)) return undefined;
    return this.open(ep, host);
  }

  /** The request on `c` is over: `c` goes to the next request for its endpoint, or idles. */
  release(c: Conn, answered: boolean): void {
    if (!c.busy) return;
    c.busy = false;
    if (answered) c.answered++;
    if (!c.counted) return;
    if (!this.retired && this.conns.size <= this.maxConnections) {
      const i = this.waiting.length === 0 ? -1 : this.waiting.findIndex((w) => w.host === c.host);
      const next = i < 0 ? undefined : this.waiting.splice(i, 1)[0];
      if (next !== undefined) {
        next.start(c);
        return;
      }
      if (this.waiting.length === 0 && c.open) {
        const list = this.idle.get(c.host);
        if (list === undefined) this.idle.set(c.host, [c]);
        else list.push(c);
        return;
      }
    }
    // Retired, over the cap, without a socket, or its place wanted by another endpoint's request.
    this.drop(c);
    this.serveWaiting();
  }

  /** Opens connections for waiting requests while the cap allows. */
  private serveWaiting(): void {
    while (this.waiting.length > 0 && this.conns.size < this.maxConnections) {
      const w = this.waiting.shift();
      if (w !== undefined) w.start(this.open(w.ep, w.host));
    }
  }

  private open(ep: Endpoint, host: string): Conn {
    const address = ep.address.includes(":") ? `[${ep.address}]` : ep.address;
    const client = new Client(`http://${address}:${String(ep.port)}`, {
      connect: this.connect,
      pipelining: 1,
      keepAliveTimeout: IDLE_TIMEOUT_MS,
      keepAliveMaxTimeout: IDLE_TIMEOUT_MS,
      keepAliveTimeoutThreshold: IDLE_MARGIN_MS,
      // The route's timeout and per-try timeout bound a request, as they did on node's client.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const c: Conn = { client, host, busy: false, open: false, answered: 0, counted: true };
    this.conns.add(c);
    client.on("connect", () => {
      c.open = true;
      c.answered = 0;
    });
    const gone = (): void => {
      c.open = false;
      // An idle connection that closed (its idle timeout, or the server's) leaves the pool; a
      // busy one reconnects for its request.
      if (!c.busy) {
        this.drop(c);
        this.serveWaiting();
      }
    };
    client.on("disconnect", gone);
    client.on("connectionError", gone);
    return c;
  }

  /** Closes an idle connection to another endpoint than `except` to make room; false: none. */
  private dropIdle(except: string | undefined): boolean {
    for (const [host, list] of this.idle) {
      if (host === except) continue;
      const c = list[0];
      if (c !== undefined) {
        this.drop(c);
        return true;
      }
    }
    return false;
  }

  /** Takes `c` out of the pool (once) and closes it. */
  private drop(c: Conn): void {
    if (!c.counted) return;
    c.counted = false;
    this.conns.delete(c);
    const list = this.idle.get(c.host);
    const i = list?.indexOf(c) ?? -1;
    if (list !== undefined && i >= 0) {
      list.splice(i, 1);
      if (list.length === 0) this.idle.delete(c.host);
    }
    c.client.destroy().catch(() => undefined);
  }
}

/** One attempt's place in the pool: the connection it has or waits for, and its request. */
class Slot implements Connection {
  conn: Conn | undefined;
  readonly exchange: H1Exchange;
  private readonly options: Dispatcher.DispatchOptions;

  constructor(
    private readonly pool: H1Pool,
    readonly ep: Endpoint,
    readonly host: string,
    readonly req: UpstreamRequest,
    readonly body: BodyTake,
    readonly opts: AttemptOptions,
    readonly resolve: (o: AttemptOutcome) => void,
    resent: boolean,
  ) {
    // Made now, not once a connection is free: the body may be flowing already.
    const feed = body.kind === "stream" ? new BodyFeed(body.stream) : undefined;
    this.options = {
      method: req.method,
      path: req.path,
      headers: headerList(req),
      body: feed ?? null,
    };
    this.exchange = new H1Exchange(host, feed, opts.signal, this, resolve, resent);
  }

  start(c: Conn): void {
    this.conn = c;
    c.busy = true;
    c.client.dispatch(this.options, this.exchange);
  }

  onConnected(): void {
    this.opts.onConnected();
  }

  reused(): boolean {
    return this.conn !== undefined && this.conn.answered > 0;
  }

  finished(answered: boolean): void {
    if (this.conn !== undefined) this.pool.release(this.conn, answered);
  }

  resend(): void {
    this.pool.resend(this);
  }

  abandon(): void {
    this.pool.abandon(this);
  }
}

/** Host first, then the end-to-end headers, a header with several values as several lines. */
function headerList(req: UpstreamRequest): string[] {
  const list = ["host", req.authority];
  const h = req.headers;
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) list.push(name, one);
    else list.push(name, typeof v === "string" ? v : String(v));
  }
  return list;
}
