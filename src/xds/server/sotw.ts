// State-of-the-world ADS on one stream: subscriptions per type (wildcard or named), ACK/NACK by
// error_detail, full responses for the subscribed set, make-before-break ordering, and no resend
// of content the client rejected. Responses are computed at send time, so bursts coalesce.
import type * as grpc from "@grpc/grpc-js";
import type { DiscoveryRequest__Output } from "../generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import type { DiscoveryResponse } from "../generated/envoy/service/discovery/v3/DiscoveryResponse.js";
import type { EncodedResource, Snapshot, TypeUrl } from "../snapshot.js";
import { ALL_TYPES, allowsWildcard, pushRank, TYPE } from "../snapshot.js";
import { signatureOf } from "./selection.js";
import type { ClientConnection, Subscription, TypeState } from "./connection.js";
import { namesSubscription, rememberSent } from "./connection.js";
import type { StreamContext } from "./stream-context.js";
import { AdsStream } from "./ads-stream.js";

type Call = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;

interface Planned {
  readonly typeUrl: TypeUrl;
  readonly resources: readonly EncodedResource[];
  readonly signature: string;
}

export class SotwStream extends AdsStream<Planned> {
  constructor(
    private readonly call: Call,
    client: ClientConnection,
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
      const { resources, signature } = this.ctx.select(snapshot, typeUrl, state.subscription);
      if (signature === state.sentSignature && state.sentVersion !== undefined) continue;
      if (signature === state.nackedSignature) continue;
      // The first response of a type is always sent, even if empty, so the client stops waiting.
      planned.push({ typeUrl, resources, signature });
    }
    const cds = planned.find((p) => p.typeUrl === TYPE.cluster);
    const usersChange = planned.some(
      (p) => p.typeUrl === TYPE.listener || p.typeUrl === TYPE.route,
    );
    if (cds !== undefined && usersChange) {
      // Keep clusters that are going away until the listeners and routes that used them moved on;
      // a second CDS response at the end removes them.
      const retained = this.retainedClusters(snapshot, cds.resources);
      if (retained.length > 0) {
        const all = [...cds.resources, ...retained];
        planned[planned.indexOf(cds)] = {
          typeUrl: TYPE.cluster,
          resources: all,
          signature: signatureOf(all),
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
    const previous = this.ctx.history.get(state?.sentVersion)?.resources.get(TYPE.cluster);
    if (previous === undefined || state === undefined) return [];
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
      resources: p.resources.map((r) => ({ type_url: r.typeUrl, value: r.value })),
      control_plane: { identifier: "vireo" },
    };
    rememberSent(state, nonce, snapshot.version);
    state.sentSignature = p.signature;
    const ok = this.call.write(response);
    if (!ok) this.markCongested();
    return ok;
  }
}

function subscriptionOf(
  typeUrl: TypeUrl,
  names: readonly string[],
  state: TypeState,
): Subscription {
  if (allowsWildcard(typeUrl) && (names.includes("*") || (names.length === 0 && !state.explicit))) {
    return { kind: "wildcard" };
  }
  return namesSubscription(names.filter((n) => n !== "*"));
}
