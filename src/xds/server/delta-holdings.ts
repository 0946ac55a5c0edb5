// What a delta client holds of one type, by name: what it ACKed (or said it had, in
// initial_resource_versions), the responses awaiting a reply, and the changes it refused. The
// server diffs against `expected`: what it will hold once every response sent is applied.
import type { EncodedResource } from "../snapshot.js";
import type { Absent, Held, Holdings, Nack, Rejection, ResourceView } from "./holdings.js";
import { ABSENT, sameContent } from "./holdings.js";
import type { Subscription } from "./subscription.js";

/**
 * A client this many responses behind is taken to hold the oldest: without a bound, one that
 * never replies would cost memory with every change.
 */
const MAX_IN_FLIGHT = 16;

/** A response's changes by name: the resource, ABSENT (told it does not exist), or undefined (dropped). */
type Changes = Map<string, EncodedResource | Absent | undefined>;

interface Response {
  readonly nonce: string;
  readonly version: number;
  readonly changes: Changes;
}

export class DeltaHoldings implements Holdings {
  private readonly acked = new Map<string, Held | Absent>();
  /** Sent, no reply yet, oldest first: each holds only what it changes, never a copy. */
  private readonly inFlight: Response[] = [];
  private rejected: Map<string, Rejection> | undefined;

  /** What the client said it holds when it (re)connected; `current` gives us the bytes we know. */
  seed(
    versions: Readonly<Record<string, string>>,
    current?: ReadonlyMap<string, EncodedResource>,
  ): void {
    for (const [name, version] of Object.entries(versions)) {
      const r = current?.get(name);
      this.acked.set(name, r?.version === version ? r : { name, version });
    }
  }

  /** What the client will hold of `name` once every response sent is applied. */
  expected(name: string): Held | Absent | undefined {
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const changes = this.inFlight[i]?.changes;
      if (changes?.has(name) === true) return changes.get(name);
    }
    return this.acked.get(name);
  }

  /** Every name `expected` knows. */
  expectedNames(): Iterable<string> {
    if (this.inFlight.length === 0) return this.acked.keys();
    const names = new Set(this.acked.keys());
    for (const r of this.inFlight) for (const name of r.changes.keys()) names.add(name);
    return [...names].filter((name) => this.expected(name) !== undefined);
  }

  /** A resource the client holds by version only turns out to be `r`: keep its bytes. */
  resolve(r: EncodedResource): void {
    const held = this.acked.get(r.name);
    if (held !== undefined && held !== ABSENT && held.value === undefined) {
      if (held.version === r.version) this.acked.set(r.name, r);
    }
  }

  /** The client unsubscribed, or names the resource afresh: it holds nothing of it we count on. */
  forget(name: string): void {
    this.acked.delete(name);
    for (const r of this.inFlight) r.changes.delete(name);
    this.dropRejection(name);
  }

  /** The change to `name` the client refused, while it stands. */
  rejectedChange(name: string): EncodedResource | Absent | undefined {
    return this.rejected?.get(name)?.change;
  }

  /** Names with a refused change standing. */
  rejectedNames(): readonly string[] {
    return this.rejected === undefined ? [] : [...this.rejected.keys()];
  }

  /** The server no longer wants the change the client refused. */
  dropRejection(name: string): void {
    this.rejected?.delete(name);
    if (this.rejected?.size === 0) this.rejected = undefined;
  }

  /** Nothing in flight and nothing refused: the client holds what it was sent. */
  settled(): boolean {
    return this.inFlight.length === 0 && this.rejected === undefined;
  }

  sent(
    nonce: string,
    version: number,
    resources: readonly EncodedResource[],
    absent: readonly string[],
    dropped: readonly string[],
  ): void {
    const changes: Changes = new Map();
    for (const r of resources) changes.set(r.name, r);
    for (const name of absent) changes.set(name, ABSENT);
    for (const name of dropped) changes.set(name, undefined);
    this.inFlight.push({ nonce, version, changes });
    if (this.inFlight.length > MAX_IN_FLIGHT) this.settle(1);
  }

  versionOf(nonce: string): number | undefined {
    return this.inFlight.find((r) => r.nonce === nonce)?.version;
  }

  ack(nonce: string): void {
    const i = this.inFlight.findIndex((r) => r.nonce === nonce);
    if (i >= 0) this.settle(i + 1);
  }

  nack(nonce: string, nack: Nack): void {
    const i = this.inFlight.findIndex((r) => r.nonce === nonce);
    const refused = this.inFlight[i];
    if (refused === undefined) return;
    // Replies come in order: a response before this one without a reply is taken as applied.
    this.settle(i);
    this.inFlight.shift();
    this.rejected ??= new Map();
    for (const [name, change] of refused.changes) {
      this.rejected.set(name, { nack, change: change ?? ABSENT });
    }
  }

  held(name: string): Held | undefined {
    const h = this.acked.get(name);
    return h === ABSENT ? undefined : h;
  }

  view(subscription: Subscription): ResourceView[] {
    const names = new Set(this.acked.keys());
    for (const r of this.inFlight) for (const name of r.changes.keys()) names.add(name);
    for (const name of this.rejected?.keys() ?? []) names.add(name);
    if (subscription.kind === "names") for (const name of subscription.names) names.add(name);
    const out: ResourceView[] = [];
    for (const name of names) {
      const held = this.acked.get(name);
      const coming = this.expected(name);
      out.push({
        name,
        acked: held,
        ackedVersion: held === undefined || held === ABSENT ? "" : held.version,
        // Not kept per resource: a timestamp per name would cost more than the name's reference.
        ackedAt: undefined,
        // A removal on its way leaves nothing to expect: that is a change too.
        pending: sameContent(held, coming) ? undefined : (coming ?? ABSENT),
        rejected: this.rejected?.get(name),
      });
    }
    return out;
  }

  /** The oldest `n` responses in flight are applied (ACKed, or taken as applied). */
  private settle(n: number): void {
    for (const r of this.inFlight.splice(0, n)) {
      for (const [name, change] of r.changes) {
        if (change === undefined) this.acked.delete(name);
        else this.acked.set(name, change);
        this.dropRejection(name);
      }
    }
  }
}
