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
import { namesSubscription, rememberSent, versionOfNonce } from "./connection.js";
import type { StreamContext } from "./stream-context.js";
import { shortMessage } from "./stream-context.js";

type Call = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;

interface Planned {
  readonly typeUrl: TypeUrl;
  readonly resources: readonly EncodedResource[];
  readonly signature: string;
}

export class SotwStream {
  private congested = false;
  private flushing = false;
  private dirty = false;
  private closed = false;

  constructor(
    private readonly call: Call,
    readonly client: ClientConnection,
    private readonly ctx: StreamContext,
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

  onRequest(req: DiscoveryRequest__Output): void {
    if (this.client.node === undefined && req.node !== null) this.client.node = req.node;
    const typeUrl = req.type_url;
    if (!ALL_TYPES.includes(typeUrl)) {
      this.ctx.log.warn("request for an unknown type ignored", { client: this.client.id, typeUrl });
      return;
    }
    const state = this.client.type(typeUrl);
    const stale = req.response_nonce !== "" && req.response_nonce !== state.sentNonce;
    if (req.response_nonce !== "") {
      const version = versionOfNonce(state, req.response_nonce);
      // A NACK of a superseded response says nothing about the latest; an ACK of one still
      // tells which version the client runs.
      if (version !== undefined && (!stale || req.error_detail === null))
        this.recordReply(typeUrl, state, req, version);
    }
    // Subscription changes are honoured even with a stale nonce: a client that changed its names
    // before seeing our latest response must still get the resources it now asks for.
    state.subscription = subscriptionOf(typeUrl, req.resource_names, state);
    if (req.resource_names.length > 0) state.explicit = true;
    this.dirty = true;
    this.flush();
  }

  private recordReply(
    typeUrl: TypeUrl,
    state: TypeState,
    req: DiscoveryRequest__Output,
    version: number,
  ): void {
    const now = this.ctx.clock.now();
    if (req.error_detail !== null) {
      const message = shortMessage(req.error_detail.message);
      state.lastNack = { version, message, at: now };
      state.nackedSignature = state.sentSignature;
      this.ctx.emit({ kind: "nack", client: this.client, typeUrl, version, message });
      return;
    }
    if (state.ackedVersion === undefined || version > state.ackedVersion) {
      state.ackedVersion = version;
      state.ackedAt = now;
      this.ctx.emit({ kind: "ack", client: this.client, typeUrl, version });
    }
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
        for (const response of this.plan(snapshot)) {
          if (!this.send(snapshot, response)) break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Responses to send now, in make-before-break order. */
  private plan(snapshot: Snapshot): Planned[] {
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

  private send(snapshot: Snapshot, p: Planned): boolean {
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
    if (!ok) this.congested = true;
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
