// The resources of a snapshot a subscription selects, memoized per snapshot: a thousand clients
// with the same subscription cost one selection, not a thousand. A state-of-the-world client holds
// the selection it ACKed by reference, so what it holds costs a pointer, not a copy.
import type { EncodedResource, Snapshot, TypeUrl } from "../snapshot.js";
import type { Subscription } from "./subscription.js";
import { subscriptionKey } from "./subscription.js";

/** Identifies a response's content: same names with the same hashes, in any order. */
export function signatureOf(resources: readonly EncodedResource[]): string {
  return resources
    .map((r) => `${r.name}\u0000${r.version}`)
    .sort()
    .join("\u0001");
}

export class Selection {
  readonly signature: string;
  /** By name, built when first asked (CSDS, confirmation) and shared by every holder. */
  private index: Map<string, EncodedResource> | undefined;

  constructor(readonly resources: readonly EncodedResource[]) {
    this.signature = signatureOf(resources);
  }

  get(name: string): EncodedResource | undefined {
    this.index ??= new Map(this.resources.map((r) => [r.name, r]));
    return this.index.get(name);
  }
}

export class SelectionCache {
  private readonly memo = new WeakMap<Snapshot, Map<string, Selection>>();

  select(snapshot: Snapshot, typeUrl: TypeUrl, sub: Subscription): Selection {
    let bySub = this.memo.get(snapshot);
    if (bySub === undefined) {
      bySub = new Map();
      this.memo.set(snapshot, bySub);
    }
    const key = `${typeUrl}|${subscriptionKey(sub)}`;
    let sel = bySub.get(key);
    if (sel === undefined) {
      sel = new Selection(pick(snapshot, typeUrl, sub));
      bySub.set(key, sel);
    }
    return sel;
  }
}

function pick(snapshot: Snapshot, typeUrl: TypeUrl, sub: Subscription): EncodedResource[] {
  const all = snapshot.resources.get(typeUrl);
  if (all === undefined) return [];
  if (sub.kind === "wildcard") return [...all.values()];
  const out: EncodedResource[] = [];
  for (const name of sub.names) {
    const r = all.get(name);
    if (r !== undefined) out.push(r);
  }
  return out;
}
