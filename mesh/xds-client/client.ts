// The proxy's ADS client: one stream to the control plane (delta by default, state of the world
// as the alternative), reconnected with jittered exponential back-off, feeding ConfigState,
// which validates each response whole and publishes immutable RoutingSnapshots.
import * as grpc from "@grpc/grpc-js";
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import type { Logger } from "../../src/common/logger.js";
import type { RoutingSnapshot } from "../routing/model.js";
import type { AdsClient } from "./ads-service.js";
import { adsClientConstructor } from "./ads-service.js";
import type { BackoffPolicy } from "./backoff.js";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
import type { NackRecord, TypeStatus, Warming } from "./config-state.js";
import { ConfigState } from "./config-state.js";
import type { DeltaCall } from "./delta-stream.js";
import { DeltaAdsStream } from "./delta-stream.js";
import type { NodeIdentity } from "./node.js";
import { buildNode } from "./node.js";
import type { SotwCall } from "./sotw-stream.js";
import { SotwAdsStream } from "./sotw-stream.js";

export type Transport = "delta" | "sotw";

const READY = grpc.connectivityState.READY;
const UNAVAILABLE = grpc.status.UNAVAILABLE;

export const DEFAULT_WARM_TIMEOUT_MS = 1000;

/**
 * How long a stream waits for its connection to the control plane. grpc-js puts no bound on a TCP
 * connect, so one sent to a controller pod that is gone (the Service's endpoints not updated yet)
 * waits for the kernel's SYN retries, a minute or two; past this the attempt is abandoned and the
 * next one, on a new channel, resolves and connects afresh. Envoy's default connect timeout.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface XdsClientDeps {
  readonly log: Logger;
  readonly clock: Clock;
  /** The control plane's address, `host:port`. */
  readonly server: string;
  readonly node: NodeIdentity;
  readonly transport?: Transport;
  readonly credentials?: grpc.ChannelCredentials;
  /** Extra channel options (the TLS server name to verify, with `grpc.ssl_target_name_override`). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Listeners to subscribe to by name besides the wildcard (the inbound server listeners). */
  readonly namedListeners?: readonly string[];
  /** How long a snapshot needing new clusters' endpoints (or new routes) waits for them. */
  readonly warmTimeoutMs?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  /** DEFAULT_CONNECT_TIMEOUT_MS unless set. */
  readonly connectTimeoutMs?: number;
  /** Jitter source, for tests; Math.random by default. */
  readonly random?: () => number;
}

export type ConnectionState =
  | { readonly state: "idle" }
  | { readonly state: "connecting"; readonly attempt: number; readonly since: number }
  | { readonly state: "connected"; readonly since: number }
  | {
      readonly state: "backoff";
      readonly failures: number;
      readonly retryAt: number;
      readonly error: string;
    }
  | { readonly state: "closed" };

/** What the admin config dump shows about the xDS connection. */
export interface XdsClientStatus {
  readonly server: string;
  readonly transport: Transport;
  readonly connection: ConnectionState;
  readonly types: readonly TypeStatus[];
  readonly lastNack?: NackRecord;
  /** When the current snapshot was published; absent before the first. */
  readonly publishedAt?: number;
  /** References the current snapshot cannot follow (routes to absent clusters, …). */
  readonly warnings: readonly string[];
  readonly warming?: Warming;
}

type Stream = DeltaAdsStream | SotwAdsStream;

export class XdsClient {
  private readonly state: ConfigState;
  private readonly transport: Transport;
  private readonly backoff: BackoffPolicy;
  private client: AdsClient | undefined;
  private call: DeltaCall | SotwCall | undefined;
  private connection: ConnectionState = { state: "idle" };
  /** Consecutive streams that ended without a response. */
  private failures = 0;
  private retryTimer: TimerHandle | undefined;
  private streamSeq = 0;

  constructor(private readonly deps: XdsClientDeps) {
    this.transport = deps.transport ?? "delta";
    this.backoff = { ...DEFAULT_BACKOFF, ...deps.backoff };
    this.state = new ConfigState({
      log: deps.log,
      clock: deps.clock,
      warmTimeoutMs: deps.warmTimeoutMs ?? DEFAULT_WARM_TIMEOUT_MS,
      ...(deps.namedListeners !== undefined && { namedListeners: deps.namedListeners }),
    });
  }

  /** Connects and keeps reconnecting until `close`. */
  start(): void {
    if (this.client !== undefined || this.connection.state === "closed") return;
    this.client = this.newChannel();
    this.connect();
  }

  private newChannel(): AdsClient {
    const Ctor = adsClientConstructor();
    return new Ctor(this.deps.server, this.deps.credentials ?? grpc.credentials.createInsecure(), {
      // Channel reconnects follow the same schedule as stream retries.
      "grpc.initial_reconnect_backoff_ms": this.backoff.baseMs,
      "grpc.max_reconnect_backoff_ms": this.backoff.maxMs,
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      ...this.deps.channelOptions,
    });
  }

  /** The snapshot in force: the last good one (EMPTY_SNAPSHOT before the first). */
  current(): RoutingSnapshot {
    return this.state.current();
  }

  /** Resolves with the first snapshot. */
  synced(): Promise<RoutingSnapshot> {
    return this.state.synced;
  }

  /** Calls `listener` with every new snapshot; returns an unsubscribe. */
  onSnapshot(listener: (snapshot: RoutingSnapshot) => void): () => void {
    return this.state.onSnapshot(listener);
  }

  status(): XdsClientStatus {
    const nack = this.state.lastNack();
    const publishedAt = this.state.lastPublishedAt();
    const warming = this.state.warmingState();
    return {
      server: this.deps.server,
      transport: this.transport,
      connection: this.connection,
      types: this.state.typeStatuses(),
      ...(nack !== undefined && { lastNack: nack }),
      ...(publishedAt !== undefined && { publishedAt }),
      warnings: this.state.warnings(),
      ...(warming !== undefined && { warming }),
    };
  }

  /** What the status port's metrics report (`vireo check` reads them through the API server). */
  health(): { connected: boolean; rejectedTypes: number } {
    return {
      connected: this.connection.state === "connected",
      rejectedTypes: this.state.typeStatuses().filter((t) => t.lastNack !== undefined).length,
    };
  }

  /** Stops for good; the last snapshot stays readable. */
  close(): void {
    this.connection = { state: "closed" };
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.state.close();
    this.call?.cancel();
    this.call = undefined;
    this.client?.close();
    this.client = undefined;
  }

  private connect(): void {
    const client = this.client;
    if (client === undefined) return;
    const seq = ++this.streamSeq;
    const now = this.deps.clock.now();
    this.connection = { state: "connecting", attempt: this.failures + 1, since: now };
    let responded = false;
    let abandoned: string | undefined;
    const timeoutMs = this.deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const connectTimer = this.deps.clock.setTimer(timeoutMs, () => {
      const channel = client.getChannel();
      const current = seq === this.streamSeq && this.connection.state === "connecting";
      if (!current || channel.getConnectivityState(false) === READY) return;
      abandoned = `not connected within ${String(timeoutMs)} ms`;
      this.client = this.newChannel();
      client.close();
      call.cancel();
    });
    const onResponse = (): void => {
      if (responded) return;
      responded = true;
      connectTimer.cancel();
      this.failures = 0;
      this.connection = { state: "connected", since: this.deps.clock.now() };
    };
    const node = buildNode(this.deps.node);
    let stream: Stream;
    let call: DeltaCall | SotwCall;
    if (this.transport === "delta") {
      const delta = client.DeltaAggregatedResources();
      stream = new DeltaAdsStream(delta, this.state, node, onResponse);
      call = delta;
    } else {
      const sotw = client.StreamAggregatedResources();
      stream = new SotwAdsStream(sotw, this.state, node, onResponse);
      call = sotw;
    }
    this.call = call;
    // Errors also arrive as a status; the listener keeps them from being thrown.
    call.on("error", () => undefined);
    call.on("status", (s: grpc.StatusObject) => {
      connectTimer.cancel();
      if (seq !== this.streamSeq) return;
      const why = abandoned === undefined ? s : { ...s, code: UNAVAILABLE, details: abandoned };
      this.onStreamEnd(why, responded);
    });
    this.deps.log.debug("opening ADS stream", {
      server: this.deps.server,
      transport: this.transport,
    });
    stream.sync();
  }

  /**
   * A stream that got a response is reconnected at once (gRFC A57: it was not a failure, e.g. a
   * server's max connection age); one that got none backs off.
   */
  private onStreamEnd(status: grpc.StatusObject, responded: boolean): void {
    this.call = undefined;
    if (this.connection.state === "closed") return;
    const delay = responded
      ? 0
      : backoffDelay(this.failures, this.backoff, this.deps.random ?? Math.random);
    if (!responded) this.failures++;
    const error = `${grpc.status[status.code]}: ${status.details}`;
    this.deps.log.info("ADS stream ended", { error, retryInMs: delay });
    this.connection = {
      state: "backoff",
      failures: this.failures,
      retryAt: this.deps.clock.now() + delay,
      error,
    };
    this.retryTimer = this.deps.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      this.connect();
    });
  }
}
