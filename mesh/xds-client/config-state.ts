// The client's configuration state: resources held per type, ACK/NACK bookkeeping, and the
// snapshot served to the data plane, swapped whole once the combined state is ready and warm.
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import type { Logger } from "../../src/common/logger.js";
import type { Resource__Output } from "../../src/xds/generated/envoy/service/discovery/v3/Resource.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type { ListenerConfig, RoutingSnapshot } from "../routing/model.js";
import type { InboundListenerConfig } from "../routing/security-model.js";
import { EMPTY_SNAPSHOT } from "../routing/model.js";
import type { AdsHandler } from "./ads-handler.js";
import type { KindValues, ResourceKind } from "./resource-kinds.js";
import { isWildcardKind, KINDS, TYPE_URL } from "./resource-kinds.js";
import { buildRoutingSnapshot } from "./snapshot.js";
import type { Store, UpdateOutcome } from "./store.js";
import { emptyStore, planDeltaUpdate, planSotwUpdate, trimStore, wantedNames } from "./store.js";
import { planPublish } from "./warming.js";

export interface ConfigStateDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly warmTimeoutMs: number;
  /** Listeners asked for by name besides the wildcard: the proxy's inbound server listeners. */
  readonly namedListeners?: readonly string[];
}

export interface NackRecord {
  readonly typeUrl: string;
  /** The version of the rejected response. */
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: number;
}

export interface TypeStatus {
  readonly typeUrl: string;
  /** Version of the last accepted, ACKed response ("" before any). */
  readonly ackedVersion: string;
  readonly resources: number;
  readonly subscribed: readonly string[];
  readonly lastNack?: NackRecord;
}

export interface Warming {
  readonly since: number;
  readonly until: number;
  readonly pending: readonly string[];
}

export class ConfigState implements AdsHandler {
  private store: Store = emptyStore();
  private snapshot: RoutingSnapshot = EMPTY_SNAPSHOT;
  private publishedAt: number | undefined;
  private warningList: readonly string[] = [];
  private gaveUp: ReadonlySet<string> = new Set();
  private warming: Warming | undefined;
  private holdTimer: TimerHandle | undefined;
  private dirty = false;
  private readonly nacks = new Map<ResourceKind, NackRecord>();
  private latestNack: NackRecord | undefined;
  private readonly listeners = new Set<(s: RoutingSnapshot) => void>();
  private resolveSynced: ((s: RoutingSnapshot) => void) | undefined;
  readonly synced: Promise<RoutingSnapshot>;

  constructor(private readonly deps: ConfigStateDeps) {
    this.synced = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
  }

  current(): RoutingSnapshot {
    return this.snapshot;
  }

  onSnapshot(listener: (s: RoutingSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  wanted(kind: ResourceKind): ReadonlySet<string> {
    const names = wantedNames(this.store, kind);
    const named = this.deps.namedListeners ?? [];
    return kind === "listener" && named.length > 0 ? new Set([...names, ...named]) : names;
  }

  acceptedVersion(kind: ResourceKind): string {
    return this.store[kind].version;
  }

  resourceVersions(kind: ResourceKind): Record<string, string> {
    const wanted = this.wanted(kind);
    const out: Record<string, string> = {};
    for (const [name, r] of this.store[kind].resources) {
      if (r.version !== "" && (isWildcardKind(kind) || wanted.has(name))) out[name] = r.version;
    }
    return out;
  }

  applySotw(
    kind: ResourceKind,
    version: string,
    nonce: string,
    resources: readonly Any__Output[],
  ): string | undefined {
    const wanted = this.wanted(kind);
    return this.commit(kind, version, nonce, (k) =>
      planSotwUpdate(k, this.store[k], version, resources, wanted),
    );
  }

  applyDelta(
    kind: ResourceKind,
    version: string,
    nonce: string,
    resources: readonly Resource__Output[],
    removed: readonly string[],
  ): string | undefined {
    const wanted = this.wanted(kind);
    return this.commit(kind, version, nonce, (k) =>
      planDeltaUpdate(k, this.store[k], version, resources, removed, wanted),
    );
  }

  /** Publishes if ready and warm, or keeps holding (with a timer) until the warming deadline. */
  settle(): void {
    if (!this.dirty) return;
    const now = this.deps.clock.now();
    const decision = planPublish({
      store: this.store,
      gaveUp: this.gaveUp,
      holdingSince: this.warming?.since,
      now,
      warmTimeoutMs: this.deps.warmTimeoutMs,
    });
    switch (decision.kind) {
      case "initial":
        return;
      case "hold":
        this.warming = { since: decision.since, until: decision.until, pending: decision.pending };
        this.holdTimer ??= this.deps.clock.setTimer(decision.until - now, () => {
          this.holdTimer = undefined;
          this.settle();
        });
        return;
      case "publish":
        this.gaveUp = decision.gaveUp;
        this.publish(now);
        return;
    }
  }

  typeStatuses(): TypeStatus[] {
    return KINDS.map((kind) => {
      const nack = this.nacks.get(kind);
      return {
        typeUrl: TYPE_URL[kind],
        ackedVersion: this.store[kind].version,
        resources: this.store[kind].resources.size,
        subscribed: [...this.wanted(kind)].sort(),
        ...(nack !== undefined && { lastNack: nack }),
      };
    });
  }

  lastNack(): NackRecord | undefined {
    return this.latestNack;
  }

  warnings(): readonly string[] {
    return this.warningList;
  }

  warmingState(): Warming | undefined {
    return this.warming;
  }

  lastPublishedAt(): number | undefined {
    return this.publishedAt;
  }

  close(): void {
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
  }

  private commit<K extends ResourceKind>(
    kind: K,
    version: string,
    nonce: string,
    plan: (k: K) => UpdateOutcome<KindValues[K]>,
  ): string | undefined {
    const outcome = plan(kind);
    if (!outcome.ok) {
      const nack = {
        typeUrl: TYPE_URL[kind],
        version,
        nonce,
        message: outcome.message,
        at: this.deps.clock.now(),
      };
      this.nacks.set(kind, nack);
      this.latestNack = nack;
      this.deps.log.warn("rejected xDS update", {
        typeUrl: nack.typeUrl,
        version,
        error: nack.message,
      });
      return outcome.message;
    }
    this.nacks.delete(kind);
    this.store = trimStore({ ...this.store, [kind]: outcome.next });
    this.dirty = true;
    return undefined;
  }

  private publish(now: number): void {
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    this.warming = undefined;
    this.dirty = false;
    const values = <T>(m: ReadonlyMap<string, { value: T }>): Map<string, T> =>
      new Map([...m].map(([k, v]) => [k, v.value]));
    const listeners = new Map<string, ListenerConfig>();
    const inbound = new Map<string, InboundListenerConfig>();
    for (const [name, { value }] of this.store.listener.resources) {
      if (value.kind === "api") listeners.set(name, { name, routeConfig: value.routeConfig });
      else inbound.set(name, value);
    }
    const { snapshot, warnings } = buildRoutingSnapshot({
      versions: new Map(
        KINDS.filter((k) => this.store[k].received).map((k) => [
          TYPE_URL[k],
          this.store[k].version,
        ]),
      ),
      listeners,
      inbound,
      secrets: values(this.store.secret.resources),
      routeTables: values(this.store.route.resources),
      clusters: values(this.store.cluster.resources),
      endpoints: values(this.store.endpoint.resources),
    });
    this.snapshot = snapshot;
    this.publishedAt = now;
    this.warningList = warnings;
    if (warnings.length > 0) this.deps.log.info("published with missing references", { warnings });
    this.resolveSynced?.(snapshot);
    this.resolveSynced = undefined;
    for (const l of this.listeners) {
      try {
        l(snapshot);
      } catch (err) {
        this.deps.log.error("snapshot listener failed", { error: err });
      }
    }
  }
}
