// Incremental (delta) ADS on one stream: per-resource versions, explicit subscribe/unsubscribe,
// wildcard, removals, initial_resource_versions after a reconnect, ACK/NACK by error_detail.
import type * as grpc from "@grpc/grpc-js";
import type { DeltaDiscoveryRequest__Output } from "../generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import type { DeltaDiscoveryResponse } from "../generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js";
import type { EncodedResource, Snapshot, TypeUrl } from "../snapshot.js";
import { ALL_TYPES, allowsWildcard, pushRank, TYPE } from "../snapshot.js";
import type { ClientConnection } from "./connection.js";
import { rememberSent } from "./connection.js";
import type { DeltaHoldings } from "./delta-holdings.js";
import { ABSENT, sameContent } from "./holdings.js";
import { namesSubscription } from "./subscription.js";
import type { StreamContext } from "./stream-context.js";
import { AdsStream } from "./ads-stream.js";

type Call = grpc.ServerDuplexStream<DeltaDiscoveryRequest__Output, DeltaDiscoveryResponse>;

interface Planned {
  readonly typeUrl: TypeUrl;
  readonly resources: EncodedResource[];
  readonly removed: string[];
}

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
}

export class DeltaStream extends AdsStream<Planned, DeltaHoldings> {
  private readonly subs = new Map<TypeUrl, DeltaTypeState>();

  constructor(
    private readonly call: Call,
    client: ClientConnection<DeltaHoldings>,
    ctx: StreamContext,
  ) {
    super(call, client, ctx);
  }

  onRequest(req: DeltaDiscoveryRequest__Output): void {
    if (this.client.node === undefined && req.node !== null) this.client.node = req.node;
    const typeUrl = req.type_url;
    if (!ALL_TYPES.includes(typeUrl)) {
      this.ctx.log.warn("delta request for an unknown type ignored", {
        client: this.client.id,
        typeUrl,
      });
      return;
    }
    const state = this.client.type(typeUrl);
    const holdings = state.holdings;
    let sub = this.subs.get(typeUrl);
    if (sub === undefined) {
      sub = { wildcard: false, names: new Set() };
      this.subs.set(typeUrl, sub);
      holdings.seed(req.initial_resource_versions, this.ctx.current()?.resources.get(typeUrl));
      const legacyWildcard =
        req.resource_names_subscribe.length === 0 && req.resource_names_unsubscribe.length === 0;
      if (legacyWildcard && allowsWildcard(typeUrl)) sub.wildcard = true;
    }
    this.replied(typeUrl, state, req.response_nonce, req.error_detail);
    for (const name of req.resource_names_subscribe) {
      if (name === "*") sub.wildcard = true;
      else {
        sub.names.add(name);
        // A client naming a resource gets it, even if we believe it has it already.
        if (req.initial_resource_versions[name] === undefined) holdings.forget(name);
      }
    }
    for (const name of req.resource_names_unsubscribe) {
      if (name === "*") sub.wildcard = false;
      else {
        sub.names.delete(name);
        holdings.forget(name);
      }
    }
    state.subscription = sub.wildcard ? { kind: "wildcard" } : namesSubscription(sub.names);
    this.requestFlush();
  }

  protected plan(snapshot: Snapshot): Planned[] {
    const planned: Planned[] = [];
    for (const [typeUrl, sub] of [...this.subs].sort((a, b) => pushRank(a[0]) - pushRank(b[0]))) {
      const state = this.client.type(typeUrl);
      const holdings = state.holdings;
      const all = snapshot.resources.get(typeUrl) ?? new Map<string, EncodedResource>();
      const resources: EncodedResource[] = [];
      const removed: string[] = [];
      const wanted = sub.wildcard ? new Set([...all.keys(), ...sub.names]) : sub.names;
      for (const name of holdings.rejectedNames()) {
        // A refusal stands while the server still wants that very change.
        const desired = wanted.has(name) ? (all.get(name) ?? ABSENT) : ABSENT;
        if (!sameContent(holdings.rejectedChange(name), desired)) holdings.dropRejection(name);
      }
      for (const name of wanted) {
        const want = all.get(name) ?? ABSENT;
        const have = holdings.expected(name);
        if (sameContent(have, want)) {
          if (want !== ABSENT && have !== ABSENT && have?.value === undefined) {
            holdings.resolve(want);
          }
          continue;
        }
        // Content the client refused is not sent to it again; the next different content is.
        if (holdings.rejectedChange(name) !== undefined) continue;
        if (want === ABSENT) removed.push(name);
        else resources.push(want);
      }
      for (const name of holdings.expectedNames()) {
        if (wanted.has(name) || all.has(name) || holdings.expected(name) === ABSENT) continue;
        if (holdings.rejectedChange(name) === undefined) removed.push(name);
      }
      if (resources.length === 0 && removed.length === 0) {
        // Nothing to send: the client already holds this snapshot's content of the type (e.g. it
        // reconnected with initial_resource_versions). Record that as applied, unless a response
        // is still waiting for its reply or a refused change stands.
        if (holdings.settled() && (state.ackedVersion ?? -1) < snapshot.version) {
          state.ackedVersion = snapshot.version;
          state.ackedAt = this.ctx.clock.now();
        }
        continue;
      }
      if (signature(resources, removed) === state.nackedSignature) continue;
      planned.push({ typeUrl, resources, removed });
    }
    // Make before break: cluster removals wait until listeners and routes have moved on.
    const cds = planned.find((p) => p.typeUrl === TYPE.cluster);
    const usersChange = planned.some(
      (p) => p.typeUrl === TYPE.listener || p.typeUrl === TYPE.route,
    );
    if (cds !== undefined && cds.removed.length > 0 && usersChange) {
      const i = planned.indexOf(cds);
      planned[i] = { typeUrl: TYPE.cluster, resources: cds.resources, removed: [] };
      planned.push({ typeUrl: TYPE.cluster, resources: [], removed: cds.removed });
      if (cds.resources.length === 0) planned.splice(i, 1);
    }
    return planned;
  }

  protected send(snapshot: Snapshot, p: Planned): boolean {
    const state = this.client.type(p.typeUrl);
    const nonce = this.client.nextNonce();
    const sub = this.subs.get(p.typeUrl);
    // A removed name the client still names is remembered as absent, so it is told once.
    const absent = p.removed.filter((name) => sub?.names.has(name) === true);
    const dropped = p.removed.filter((name) => sub?.names.has(name) !== true);
    state.holdings.sent(nonce, snapshot.version, p.resources, absent, dropped);
    rememberSent(state, nonce, snapshot.version, signature(p.resources, p.removed));
    const ok = this.call.write({
      system_version_info: String(snapshot.version),
      type_url: p.typeUrl,
      nonce,
      resources: p.resources.map((r) => ({
        name: r.name,
        version: r.version,
        resource: { type_url: r.typeUrl, value: r.value },
      })),
      removed_resources: p.removed,
      control_plane: { identifier: "vireo" },
    });
    if (!ok) this.markCongested();
    return ok;
  }
}

function signature(resources: readonly EncodedResource[], removed: readonly string[]): string {
  return [...resources.map((r) => `${r.name}\u0000${r.version}`), ...removed.map((n) => `-${n}`)]
    .sort()
    .join("\u0001");
}
