// What state-of-the-world and delta streams share: back-pressure (a congested stream is sent the
// latest state once it drains, never a backlog), and how a reply to a response is recorded (ACK
// or NACK by error_detail; an ACK of a superseded response still counts).
import type { Snapshot, TypeUrl } from "../snapshot.js";
import type { ClientConnection, TypeState } from "./connection.js";
import type { Holdings } from "./holdings.js";
import type { StreamContext } from "./stream-context.js";
import { shortMessage } from "./stream-context.js";

interface Drainable {
  on(event: "drain", listener: () => void): unknown;
}

export abstract class AdsStream<Planned, H extends Holdings> {
  private congested = false;
  private flushing = false;
  private dirty = false;
  private closed = false;

  constructor(
    call: Drainable,
    readonly client: ClientConnection<H>,
    protected readonly ctx: StreamContext,
  ) {
    call.on("drain", () => {
      this.congested = false;
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
  }

  /** A new snapshot exists: send what changed, once the stream can take it. */
  push(): void {
    this.dirty = true;
    this.flush();
  }

  /** The responses to send now for `snapshot`, in the order to send them. */
  protected abstract plan(snapshot: Snapshot): Planned[];

  /** Writes one response; false when the stream is congested. */
  protected abstract send(snapshot: Snapshot, p: Planned): boolean;

  protected markCongested(): void {
    this.congested = true;
  }

  /** Records the client's reply to one of our responses, if `nonce` names one awaiting it. */
  protected replied(
    typeUrl: TypeUrl,
    state: TypeState<H>,
    nonce: string,
    errorDetail: { message: string } | null,
  ): void {
    if (nonce === "") return;
    const version = state.holdings.versionOf(nonce);
    if (version === undefined) return;
    const now = this.ctx.clock.now();
    if (errorDetail !== null) {
      const nack = { version, message: shortMessage(errorDetail.message), at: now };
      // The client keeps what it had and refused this response's changes, whichever it was.
      state.holdings.nack(nonce, nack);
      // A NACK of a superseded response says nothing about the latest, which is on its way.
      if (nonce !== state.sentNonce) return;
      state.lastNack = nack;
      state.nackedSignature = state.sentSignature;
      this.ctx.emit({ kind: "nack", client: this.client, typeUrl, version, message: nack.message });
      return;
    }
    // An ACK of a superseded response still tells which version the client runs.
    state.holdings.ack(nonce, now);
    if (state.ackedVersion === undefined || version > state.ackedVersion) {
      state.ackedVersion = version;
      state.ackedAt = now;
      this.ctx.emit({ kind: "ack", client: this.client, typeUrl, version });
    }
  }

  /** Asks for a send round (after a request changed what the client should hold). */
  protected requestFlush(): void {
    this.dirty = true;
    this.flush();
  }

  /** Read through a method: sends in the loop below change these flags. */
  private writable(): boolean {
    return !this.congested && !this.closed;
  }

  private flush(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    try {
      while (this.dirty && this.writable()) {
        this.dirty = false;
        const snapshot = this.ctx.current();
        if (snapshot === undefined) return;
        for (const p of this.plan(snapshot)) {
          if (!this.send(snapshot, p)) break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
