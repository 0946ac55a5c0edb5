// HTTP/2 (h2c, prior knowledge) connections of one cluster: one session per endpoint, shared by
// all its streams and replaced when it closes or receives GOAWAY.
import http2 from "node:http2";
import type { Clock } from "../../src/common/clock.js";
import type { Endpoint } from "../routing/model.js";
import type { AttemptOptions } from "./h1-pool.js";
import type { SecureTarget } from "./h1-pool.js";
import { responseHeaders } from "./headers.js";
import { tlsOptions } from "./tls-connect.js";
import type { AttemptOutcome, BodyTake, FailureReason, UpstreamRequest } from "./outcome.js";
import { errorDetail, failure } from "./outcome.js";

const IDLE_TIMEOUT_MS = 60_000;
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

export class H2Pool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly connected = new WeakSet<http2.ClientHttp2Session>();

  constructor(
    private readonly clock: Clock,
    private readonly secure?: SecureTarget,
  ) {}

  /** New requests get new sessions; open ones finish their streams and close. */
  retire(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  /** Whether a request to `host` would be sent at once, on an established session. */
  isConnected(host: string): boolean {
    const s = this.sessions.get(host);
    return s !== undefined && this.connected.has(s);
  }

  send(
    ep: Endpoint,
    host: string,
    req: UpstreamRequest,
    body: BodyTake,
    opts: AttemptOptions,
  ): Promise<AttemptOutcome> {
    const { signal } = opts;
    if (signal.aborted) return Promise.resolve(failure("aborted", host, "aborted before sending"));
    const session = this.session(ep, host, opts.connectTimeoutMs);
    if (session instanceof Error)
      return Promise.resolve(failure("connect-failure", host, session.message));
    return new Promise((resolve) => {
      let settled = false;
      let trailers: http2.IncomingHttpHeaders | undefined;
      let stream: http2.ClientHttp2Stream;
      const settle = (o: AttemptOutcome): void => {
        if (settled) return;
        settled = true;
        signal.off(onAbort);
        resolve(o);
      };
      const onAbort = (): void => {
        settle(failure("aborted", host, "aborted"));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const reason = (err: unknown): FailureReason => {
        // Streams waiting for a session that never connected fail with the session's error.
        if (!this.connected.has(session)) return "connect-failure";
        if (stream.rstCode === NGHTTP2_REFUSED_STREAM) return "refused-stream";
        const code = (err as { code?: unknown } | undefined)?.code;
        return code === "ERR_HTTP2_STREAM_ERROR" ? "remote-reset" : "connection-termination";
      };
      try {
        stream = session.request(
          {
            ...req.headers,
            ":method": req.method,
            ":path": req.path,
            ":authority": req.authority,
            ":scheme": "http",
          },
          { endStream: body.kind !== "stream" },
        );
      } catch (err) {
        settle(failure("connection-termination", host, errorDetail(err)));
        return;
      }
      signal.onAbort(onAbort);
      if (this.connected.has(session)) opts.onConnected();
      else session.once("connect", opts.onConnected);
      stream.once("response", (headers, flags) => {
        settle({
          kind: "response",
          host,
          response: {
            status: headers[":status"] ?? 502,
            headers: responseHeaders(headers),
            body: stream,
            endAfterHeaders: (flags & NGHTTP2_FLAG_END_STREAM) !== 0,
            trailers: () => trailers,
          },
        });
      });
      stream.once("trailers", (t: http2.IncomingHttpHeaders) => {
        trailers = t;
      });
      stream.on("error", (err) => {
        settle(failure(reason(err), host, errorDetail(err)));
      });
      stream.once("close", () => {
        const r: FailureReason =
          stream.rstCode === NGHTTP2_REFUSED_STREAM ? "refused-stream" : "remote-reset";
        settle(failure(r, host, `stream closed with code ${stream.rstCode}`));
      });
      if (body.kind === "stream") {
        body.stream.once("error", () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
        });
        body.stream.pipe(stream);
      }
    });
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  private session(
    ep: Endpoint,
    host: string,
    connectTimeoutMs: number,
  ): http2.ClientHttp2Session | Error {
    const existing = this.sessions.get(host);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const address = ep.address.includes(":") ? `[${ep.address}]` : ep.address;
    const target = this.secure?.();
    if (target instanceof Error) return target;
    const s =
      target === undefined
        ? http2.connect(`http://${address}:${ep.port}`, { settings: { enablePush: false } })
        : http2.connect(`https://${address}:${ep.port}`, {
            ...tlsOptions(target, ["h2"]),
            settings: { enablePush: false },
          });
    const timer = this.clock.setTimer(connectTimeoutMs, () => {
      if (!this.connected.has(s)) {
        s.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
      }
    });
    const forget = (): void => {
      timer.cancel();
      if (this.sessions.get(host) === s) this.sessions.delete(host);
    };
    s.once("connect", () => {
      timer.cancel();
      this.connected.add(s);
    });
    // Streams report their own failures; the session's error only retires it.
    s.on("error", forget);
    s.once("goaway", forget);
    s.once("close", forget);
    s.setTimeout(IDLE_TIMEOUT_MS, () => {
      s.close();
    });
    this.sessions.set(host, s);
    return s;
  }
}
