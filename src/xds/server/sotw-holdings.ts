// What a state-of-the-world client holds of one type: the whole set of the last response it ACKed
// (a shared Selection, so a pointer per client), the responses awaiting a reply, and the changes
// of the last response it NACKed, against what it held then.
import type { EncodedResource } from "../snapshot.js";
import type { Absent, Held, Holdings, Nack, Rejection, ResourceView } from "./holdings.js";
import { ABSENT, sameContent } from "./holdings.js";
import type { Selection } from "./selection.js";
import type { Subscription } from "./subscription.js";

/** An ACK of an older response still counts; older than this many, it is not recognised. */
const MAX_IN_FLIGHT = 4;

interface Response {
  readonly nonce: string;
  readonly version: number;
  readonly selection: Selection;
}

export class SotwHoldings implements Holdings {
  private acked: Response | undefined;
  private ackedAt: number | undefined;
  /** Sent, no reply yet, oldest first; the last is what the client is to hold next. */
  private readonly inFlight: Response[] = [];
  /** The changes of the last NACKed response, until the client ACKs a later one. */
  private rejected: { readonly nack: Nack; readonly changes: Map<string, Rejection> } | undefined;

  sent(nonce: string, version: number, selection: Selection): void {
    this.inFlight.push({ nonce, version, selection });
    if (this.inFlight.length > MAX_IN_FLIGHT) this.inFlight.shift();
  }

  /** The content last sent (in flight, else ACKed): a response with the same content is not sent. */
  lastSent(): Selection | undefined {
    return (this.inFlight.at(-1) ?? this.acked)?.selection;
  }

  /** Every resource the client holds or has been sent since, by name (make before break). */
  heldOrSent(): Map<string, EncodedResource> {
    const out = new Map<string, EncodedResource>();
    for (const r of [this.acked, ...this.inFlight]) {
      for (const res of r?.selection.resources ?? []) out.set(res.name, res);
    }
    return out;
  }

  versionOf(nonce: string): number | undefined {
    return this.inFlight.find((r) => r.nonce === nonce)?.version;
  }

  ack(nonce: string, at: number): void {
    const i = this.inFlight.findIndex((r) => r.nonce === nonce);
    const response = this.inFlight[i];
    if (response === undefined) return;
    // Replies come in order: the responses before this one are answered or superseded.
    this.inFlight.splice(0, i + 1);
    this.acked = response;
    this.ackedAt = at;
    this.rejected = undefined;
  }

  nack(nonce: string, nack: Nack): void {
    const i = this.inFlight.findIndex((r) => r.nonce === nonce);
    const response = this.inFlight[i];
    if (response === undefined) return;
    this.inFlight.splice(0, i + 1);
    // The client refused the whole response but keeps what it had, so the NACK concerns what the
    // response would have changed: resources new or different, and those it would have removed.
    const changes = new Map<string, Rejection>();
    const before = this.acked?.selection;
    for (const r of response.selection.resources) {
      if (!sameContent(before?.get(r.name), r)) changes.set(r.name, { nack, change: r });
    }
    for (const r of before?.resources ?? []) {
      if (response.selection.get(r.name) === undefined) {
        changes.set(r.name, { nack, change: ABSENT });
      }
    }
    this.rejected = { nack, changes };
  }

  /** Forgets refusals of changes the server no longer wants (`current` is what it wants now). */
  prune(current: Selection): void {
    const rejected = this.rejected;
    if (rejected === undefined) return;
    for (const [name, r] of rejected.changes) {
      if (!sameContent(r.change, current.get(name) ?? ABSENT)) rejected.changes.delete(name);
    }
    if (rejected.changes.size === 0) this.rejected = undefined;
  }

  held(name: string): Held | undefined {
    return this.acked?.selection.get(name);
  }

  view(subscription: Subscription): ResourceView[] {
    const acked = this.acked;
    const next = this.inFlight.at(-1)?.selection;
    const named = subscription.kind === "names" ? subscription.names : new Set<string>();
    const names = new Set<string>(named);
    for (const r of acked?.selection.resources ?? []) names.add(r.name);
    for (const r of next?.resources ?? []) names.add(r.name);
    for (const name of this.rejected?.changes.keys() ?? []) names.add(name);
    const out: ResourceView[] = [];
    for (const name of names) {
      // A response omits the names of a subscription that do not exist.
      const held: Held | Absent | undefined =
        acked === undefined ? undefined : (acked.selection.get(name) ?? ABSENT);
      const coming: Held | Absent | undefined =
        next === undefined ? undefined : (next.get(name) ?? ABSENT);
      const known = held === ABSENT && !named.has(name) ? undefined : held;
      out.push({
        name,
        acked: known,
        ackedVersion: known === undefined || acked === undefined ? "" : String(acked.version),
        ackedAt: known === undefined ? undefined : this.ackedAt,
        pending: sameContent(held, coming) ? undefined : coming,
        rejected: this.rejected?.changes.get(name),
      });
    }
    return out;
  }
}
