// The downstream request body, streamed upstream as it arrives. A route that may retry or mirror
// makes it keep up to `limit` bytes so another attempt or a mirror can have it too; past that,
// only the attempt in progress gets the body and retries stop (Envoy's buffer limit).
import { PassThrough, Readable } from "node:stream";
import type { BodyTake } from "../upstream/outcome.js";
import { EMPTY_BODY } from "../upstream/outcome.js";

const SPENT: BodyTake = { kind: "spent" };

/** A cap on the bytes read from the downstream, whatever the framing (chunked, HTTP/2 DATA). */
export interface BodyCap {
  readonly maxBytes: number;
  /** Called (possibly more than once) when more than `maxBytes` have been read. */
  exceeded(): void;
}

export class RequestBody {
  /** Bytes read from the downstream so far. */
  received = 0;
  private retaining = false;
  private attempts = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;
  private ended = false;
  private error: Error | undefined;
  private current: Readable | undefined;
  /** Mirrors' copies still being written; made with the first one. */
  private copies: Set<PassThrough> | undefined;

  /** `source` undefined means no body; `knownLength` is the Content-Length, if any. */
  constructor(
    private readonly source: Readable | undefined,
    private readonly limit: number,
    private readonly knownLength: number | undefined,
    private readonly cap?: BodyCap,
  ) {}

  /** Whether another attempt could still be sent with the whole body. */
  get replayable(): boolean {
    return this.source === undefined || (this.retaining && !this.overflowed);
  }

  /** Keep the body for more attempts; must come before the first `take`. */
  retain(): void {
    const src = this.source;
    if (src === undefined || this.attempts > 0 || this.retaining) return;
    if (this.knownLength !== undefined && this.knownLength > this.limit) return;
    this.retaining = true;
    src.on("data", (c: Buffer) => {
      this.onData(src, c);
    });
    src.once("end", () => {
      this.ended = true;
      this.current?.push(null);
      if (this.copies !== undefined) for (const p of this.copies) p.end();
    });
    src.once("error", (e) => {
      this.fail(e);
    });
    src.once("close", () => {
      if (!this.ended) this.fail(new Error("downstream closed before the request body ended"));
    });
    src.pause();
  }

  /** The body for the next attempt. */
  take(): BodyTake {
    const src = this.source;
    if (src === undefined) return EMPTY_BODY;
    const n = this.attempts++;
    if (!this.retaining) {
      if (n > 0) return SPENT;
      src.on("data", (c: Buffer) => {
        this.received += c.length;
        if (this.cap !== undefined && this.received > this.cap.maxBytes) this.cap.exceeded();
      });
      return { kind: "stream", stream: src };
    }
    if (n > 0 && this.overflowed) return SPENT;
    const r: Readable = new Readable({
      read: () => {
        if (this.current === r && !this.ended) src.resume();
      },
    });
    for (const c of this.chunks) r.push(c);
    if (this.error !== undefined) r.destroy(this.error);
    else if (this.ended) r.push(null);
    this.current = r;
    return { kind: "stream", stream: r };
  }

  /** A copy for a mirror, which never slows the request: dropped if it falls `limit` behind. */
  copy(): BodyTake | undefined {
    if (this.source === undefined) return EMPTY_BODY;
    if (!this.retaining || this.overflowed || this.error !== undefined) return undefined;
    const p = new PassThrough();
    for (const c of this.chunks) p.write(c);
    if (this.ended) {
      p.end();
    } else {
      const copies = (this.copies ??= new Set());
      copies.add(p);
      p.once("close", () => copies.delete(p));
    }
    return { kind: "stream", stream: p };
  }

  private onData(src: Readable, c: Buffer): void {
    this.received += c.length;
    if (this.cap !== undefined && this.received > this.cap.maxBytes) this.cap.exceeded();
    if (!this.overflowed) {
      this.size += c.length;
      if (this.size > this.limit) {
        this.overflowed = true;
        this.chunks = [];
      } else {
        this.chunks.push(c);
      }
    }
    if (this.copies !== undefined)
      for (const p of this.copies) {
        if (p.writableLength > this.limit) p.destroy(new Error("mirror fell behind"));
        else p.write(c);
      }
    const cur = this.current;
    if (cur?.push(c) !== true) src.pause();
  }

  private fail(e: Error): void {
    if (this.error !== undefined) return;
    this.error = e;
    this.current?.destroy(e);
    if (this.copies !== undefined) for (const p of this.copies) p.destroy(e);
  }
}

/**
 * The body of every request without one. Nothing in a RequestBody without a source changes
 * (`take`, `copy` and `retain` return before touching state), so one instance serves them all.
 */
export const NO_BODY = new RequestBody(undefined, 0, undefined);
