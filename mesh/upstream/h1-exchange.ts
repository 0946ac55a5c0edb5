// One HTTP/1.1 attempt on an undici Client: the handler undici calls back, turning its events into
// the attempt's outcome, the response body into a Readable with back-pressure, and a request
// that a stale keep-alive connection lost into one resend.
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { Cancel } from "./cancel.js";
import { responseHeaders } from "./headers.js";
import type { AttemptOutcome } from "./outcome.js";
import { classifyError, errorDetail, failure } from "./outcome.js";

/** What an exchange needs from the connection it is on, or waits for. */
export interface Connection {
  /** Called once the request is being written (it has a connection). */
  onConnected(): void;
  /** Whether the connection now carrying the request had answered one before (kept alive). */
  reused(): boolean;
  /** The request is over on its connection (answered to the end, or failed). */
  finished(answered: boolean): void;
  /** Sends the request again, on another connection. */
  resend(): void;
  /** Gives up the connection the request was waiting for (aborted before it was written). */
  abandon(): void;
}

/**
 * The response body, pushed by undici: `read()` resumes a paused connection, `destroy()` before
 * the end aborts the request (and closes its connection, as node's client did).
 */
class ResponseBody extends Readable {
  ended = false;
  trailers: IncomingHttpHeaders | undefined;

  constructor(private readonly controller: Dispatcher.DispatchController) {
    super();
  }

  override _read(): void {
    this.controller.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) this.controller.abort(err ?? new Error("response body destroyed"));
    callback(err);
  }
}

/**
 * A request body for undici, which destroys the body it is given when a request fails. The
 * downstream's own stream must outlive the attempt (the proxy still answers on it), so undici
 * gets this stand-in, fed with the source's back-pressure.
 */
export class BodyFeed extends Readable {
  private sourceEnded = false;
  private readonly onData = (c: Buffer): void => {
    if (!this.push(c)) this.source.pause();
  };
  private readonly onEnd = (): void => {
    this.sourceEnded = true;
    this.push(null);
  };
  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };
  private readonly onClose = (): void => {
    if (!this.sourceEnded) this.destroy(new Error("request body closed before its end"));
  };

  constructor(private readonly source: Readable) {
    super();
    source.on("data", this.onData);
    source.on("end", this.onEnd);
    source.on("error", this.onError);
    source.on("close", this.onClose);
  }

  override _read(): void {
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const s = this.source;
    s.off("data", this.onData);
    s.off("end", this.onEnd);
    s.off("error", this.onError);
    s.off("close", this.onClose);
    callback(err);
  }
}

export class H1Exchange implements Dispatcher.DispatchHandler {
  private settled = false;
  private started = false;
  private response: ResponseBody | undefined;
  private reusedConnection = false;
  private readonly onAbort = (): void => {
    this.settle(failure("aborted", this.host, "aborted"));
    if (this.started) this.controller?.abort(new Error("aborted"));
    else this.pool.abandon();
  };
  private controller: Dispatcher.DispatchController | undefined;

  constructor(
    private readonly host: string,
    /** The request body's stand-in; undefined: no body. */
    private readonly feed: BodyFeed | undefined,
    private readonly signal: Cancel,
    private readonly pool: Connection,
    private readonly resolve: (o: AttemptOutcome) => void,
    /** This is the resend of a request a stale connection lost: no other. */
    private readonly resent: boolean,
  ) {
    signal.onAbort(this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.started = true;
    if (this.settled) {
      controller.abort(new Error("aborted"));
      return;
    }
    this.reusedConnection = this.pool.reused();
    this.pool.onConnected();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx: undici reports each, then the final response; the proxy forwards none of them.
    if (status < 200) return;
    const body = new ResponseBody(controller);
    this.response = body;
    this.settle({
      kind: "response",
      host: this.host,
      response: {
        status,
        headers: responseHeaders(headers),
        body,
        endAfterHeaders: false,
        trailers: () => body.trailers,
      },
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.response?.push(chunk) === false) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.pool.finished(true);
    const body = this.response;
    if (body === undefined) return;
    body.ended = true;
    if (Object.keys(trailers).length > 0) body.trailers = trailers;
    body.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.pool.finished(false);
    if (this.response !== undefined) {
      this.response.destroy(err);
      return;
    }
    if (this.settled) return;
    // A kept-alive connection the server closed as we reused it: nothing was processed, so
    // send again on another connection (as node's client documents), once and without a body.
    if (this.reusedConnection && !this.resent && this.feed === undefined) {
      this.settled = true;
      this.signal.off(this.onAbort);
      this.pool.resend();
      return;
    }
    this.settle(failure(classifyError(err, this.started), this.host, errorDetail(err)));
  }

  /** Fails the attempt before it had a connection (the pool closed). */
  fail(detail: string): void {
    this.settle(failure("connection-termination", this.host, detail));
  }

  private settle(o: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.off(this.onAbort);
    // A failed attempt sends no more of the body; the downstream's stream stays as it is.
    if (o.kind === "failure") this.feed?.destroy();
    this.resolve(o);
  }
}
