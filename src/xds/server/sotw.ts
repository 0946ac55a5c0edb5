// State-of-the-world ADS on one stream: subscriptions per type (wildcard or named), ACK/NACK by
// error_detail, full responses for the subscribed set, make-before-break ordering, and no resend
// of content the client rejected. Responses are computed at send time, so bursts coalesce.
import type * as grpc from "@grpc/grpc-js";
import type { DiscoveryRequest__Output } from "../generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import type { DiscoveryResponse } from "../generated/envoy/service/discovery/v3/DiscoveryResponse.js";
import type { EncodedResource, Snapshot, TypeUrl } from "../snapshot.js";
import { ALL_TYPES, allowsWildcard, pushRank, TYPE } from "../snapshot.js";
import { Selection } from "./selection.js";
import type { ClientConnection, TypeState } from "./connection.js";
import { rememberSent } from "./connection.js";
import type { SotwHoldings } from "./sotw-holdings.js";
import type { Subscription } from "./subscription.js";
import { namesSubscription } from "./subscription.js";
import type { StreamContext } from "./stream-context.js";
import { AdsStream } from "./ads-stream.js";

type Call = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;

interface Planned {
  readonly typeUrl: TypeUrl;
  readonly selection: Selection;
}

export class SotwStream extends AdsStream<Planned, SotwHoldings> {
  constructor(
    private readonly call: Call,
    client: ClientConnection<SotwHoldings>,
    ctx: StreamContext,
  ) {
    super(call, client, ctx);
  }

  onRequest(req: DiscoveryRequest__Output): void {
    if (this.client.node === undefined && req.node !== null) this.client.node = req.node;
    const typeUrl = req.type_url;
    if (!ALL_TYPES.includes(typeUrl)) {
      this.ctx.log.warn("request for an unknown type ignored", { client: this.client.id, typeUrl });
      return;
    }
    const state = this.client.type(typeUrl);
    this.replied(typeUrl, state, req.response_nonce, req.error_detail);
    // Subscription changes are honoured even with a stale nonce: a client that changed its names
    // before seeing our latest response must still get the resources it now asks for.
    state.subscription = subscriptionOf(typeUrl, req.resource_names, state);
    if (req.resource_names.length > 0) state.explicit = true;
    this.requestFlush();
  }

  /** Responses to send now, in make-before-break order. */
  protected plan(snapshot: Snapshot): Planned[] {
    const planned: Planned[] = [];
    for (const [typeUrl, state] of [...this.client.types].sort(
      (a, b) => pushRank(a[0]) - pushRank(b[0]),
    )) {
      const selection = this.ctx.select(snapshot, typeUrl, state.subscription);
      state.holdings.prune(selection);
      // The first response of a type is always sent, even if empty, so the client stops waiting.
      if (selection.signature === state.holdings.lastSent()?.signature) continue;
      if (selection.signature === state.nackedSignature) continue;
      planned.push({ typeUrl, selection });
    }
    const cds = planned.find((p) => p.typeUrl === TYPE.cluster);
    const usersChange = planned.some(
      (p) => p.typeUrl === TYPE.listener || p.typeUrl === TYPE.route,
    );
    if (cds !== undefined && usersChange) {
      // Keep clusters that are going away until the listeners and routes that used them moved on;
      // a second CDS response at the end removes them.
      const retained = this.retainedClusters(snapshot, cds.selection.resources);
      if (retained.length > 0) {
        planned[planned.indexOf(cds)] = {
          typeUrl: TYPE.cluster,
          selection: new Selection([...cds.selection.resources, ...retained]),
        };
        planned.push(cds);
      }
    }
    return planned;
  }

  private retainedClusters(
    snapshot: Snapshot,
    next: readonly EncodedResource[],
  ): EncodedResource[] {
    const state = this.client.types.get(TYPE.cluster);
    if (state === undefined) return [];
    const previous = state.holdings.heldOrSent();
    const keep = new Set(next.map((r) => r.name));
    const sub = state.subscription;
    return [...previous.values()].filter(
      (r) =>
        !keep.has(r.name) &&
        !snapshot.resources.get(TYPE.cluster)?.has(r.name) &&
        (sub.kind === "wildcard" || sub.names.has(r.name)),
    );
  }

  protected send(snapshot: Snapshot, p: Planned): boolean {
    const state = this.client.type(p.typeUrl);
    const nonce = this.client.nextNonce();
    const response: DiscoveryResponse = {
      version_info: String(snapshot.version),
      type_url: p.typeUrl,
      nonce,
      resources: p.selection.resources.map((r) => ({ type_url: r.typeUrl, value: r.value })),
      control_plane: { identifier: "vireo" },
    };
    state.holdings.sent(nonce, snapshot.version, p.selection);
    rememberSent(state, nonce, snapshot.version, p.selection.signature);
    const ok = this.call.write(response);
    if (!ok) this.markCongested();
    return ok;
  }
}

function subscriptionOf(
  typeUrl: TypeUrl,
  names: readonly string[],
  state: TypeState<SotwHoldings>,
): Subscription {
  if (allowsWildcard(typeUrl) && (names.includes("*") || (names.length === 0 && !state.explicit))) {
    return { kind: "wildcard" };
  }
  return namesSubscription(names.filter((n) => n !== "*"));
}
