// The embedded xDS control plane: ADS (state of the world and delta) and CSDS on one gRPC port.
// Every client is served the current snapshot; the controller asks which clients have ACKed it.
import * as grpc from "@grpc/grpc-js";
import type { Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { Caller } from "../../pki/caller.js";
import { callerNamespace } from "../../pki/caller.js";
import type { ClientStatusDiscoveryServiceHandlers } from "../generated/envoy/service/status/v3/ClientStatusDiscoveryService.js";
import type { AggregatedDiscoveryServiceHandlers } from "../generated/envoy/service/discovery/v3/AggregatedDiscoveryService.js";
import { loadXdsProtos } from "../protos.js";
import type { Snapshot, TypeUrl } from "../snapshot.js";
import type { XdsAuth } from "./auth.js";
import { guardStream, guardUnary, refuse } from "./auth.js";
import type { ClientSummary } from "./connection.js";
import { ClientConnection } from "./connection.js";
import type { ServiceAccountRef } from "./csds.js";
import { csdsHandlers, csdsScope } from "./csds.js";
import { DeltaStream } from "./delta.js";
import { DeltaHoldings } from "./delta-holdings.js";
import type { Holdings } from "./holdings.js";
import { SelectionCache } from "./selection.js";
import { SotwStream } from "./sotw.js";
import { SotwHoldings } from "./sotw-holdings.js";
import type { StreamContext, XdsEvent } from "./stream-context.js";

export interface XdsServerDeps {
  readonly log: Logger;
  readonly clock: Clock;
  /**
   * Largest response a client is sent, ADS or CSDS (CSDS fits its answers to it: csds-report.ts);
   * gRPC's default receive limit is 4 MiB.
   */
  readonly maxMessageBytes?: number;
  /**
   * Who may call: every ADS and CSDS call is authenticated when set. Absent means anyone may
   * (the controller's --xds-insecure mode, and tests of the protocol alone).
   */
  readonly auth?: XdsAuth;
  /**
   * The controller's own service account: with `auth`, its CSDS calls read every namespace's
   * clients, and any other caller reads its own namespace's only (csds.ts, `csdsScope`).
   */
  readonly admin?: ServiceAccountRef;
  /**
   * Whether the proxy of a node id may still be routing after its stream ended (its pod is there,
   * its proxy container running: proxy-presence.ts). Such a client stays among the holders of what
   * it held, pending until it is back and ACKs, or until this says it is gone: a proxy cut off
   * from the control plane keeps serving the configuration it last ACKed. Absent: a client that
   * leaves is forgotten at once.
   */
  readonly mayStillRoute?: (nodeId: string) => boolean;
}

/** Which clients hold a resource and which of them have ACKed its current content. */
export interface Confirmation {
  readonly holders: number;
  readonly confirmed: number;
  readonly pending: readonly ClientSummary[];
  /** Holders that are not connected while their proxy may still route (`mayStillRoute`). */
  readonly disconnected: readonly DepartedClient[];
}

export interface DepartedClient extends ClientSummary {
  readonly disconnectedAt: number;
}

type Stream = SotwStream | DeltaStream;

export interface ResourceRef {
  readonly typeUrl: TypeUrl;
  readonly name: string;
}

export class XdsServer {
  private readonly server: grpc.Server;
  private readonly streams = new Map<number, Stream>();
  private readonly selections = new SelectionCache();
  private readonly listeners = new Set<(e: XdsEvent) => void>();
  private snapshot: Snapshot | undefined;
  private nextId = 1;
  /** Why ADS streams are refused (a standby replica), or undefined while serving. */
  private standby: string | undefined;
  private readonly calls = new Map<number, grpc.ServerDuplexStream<unknown, unknown>>();
  /**
   * Clients that left while this replica served (`mayStillRoute`), by `departedKey`: the proven
   * namespace is part of it, so a caller of another namespace cannot stand in for one that left.
   */
  private readonly departed = new Map<string, { client: ClientConnection; at: number }>();
  private readonly ctx: StreamContext;

  constructor(private readonly deps: XdsServerDeps) {
    const max = deps.maxMessageBytes ?? 4 * 1024 * 1024;
    this.server = new grpc.Server({
      "grpc.max_send_message_length": max,
      "grpc.max_receive_message_length": max,
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
    });
    this.ctx = {
      log: deps.log,
      clock: deps.clock,
      current: () => this.snapshot,
      select: (s, t, sub) => this.selections.select(s, t, sub),
      emit: (e) => {
        this.emit(e);
      },
    };
    const protos = loadXdsProtos().grpc.envoy.service;
    this.server.addService(
      protos.discovery.v3.AggregatedDiscoveryService.service,
      this.adsHandlers(),
    );
    const serialize =
      protos.status.v3.ClientStatusDiscoveryService.service.FetchClientStatus.responseSerialize;
    const csds = csdsHandlers({
      clients: () => [...this.streams.values()].map((s) => s.client),
      // Slack for the message's own framing; the report's sizes are bounds already.
      budget: max - 1024,
      nodeBytes: (c) =>
        c.node === undefined ? 0 : serialize({ config: [{ node: c.node }] }).length,
    });
    const csdsGuarded: ClientStatusDiscoveryServiceHandlers = {
      FetchClientStatus: (call, cb) => {
        guardUnary(deps.auth, call, cb, (caller) => {
          csds.FetchClientStatus(call, cb, csdsScope(caller, deps.admin));
        });
      },
      StreamClientStatus: (call) => {
        guardStream(deps.auth, call, "optional", (caller) => {
          const scope = csdsScope(caller, deps.admin);
          return (req) => {
            csds.respond(call, req, scope);
          };
        });
        call.on("end", () => {
          call.end();
        });
      },
    };
    this.server.addService(protos.status.v3.ClientStatusDiscoveryService.service, csdsGuarded);
  }

  /**
   * Stops serving configuration: open ADS streams end with UNAVAILABLE and new ones are refused,
   * so clients reconnect, through the Service, to the replica that serves (the leader). `undefined`
   * serves again. CSDS and other services on the port are not affected.
   */
  setStandby(reason: string | undefined): void {
    this.standby = reason;
    if (reason === undefined) return;
    // Another replica serves them now, and answers for their confirmations.
    this.departed.clear();
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      refuse(call, grpc.status.UNAVAILABLE, reason);
    }
  }

  /** Serves another gRPC service on the same port (the certificate service); before listen. */
  addService(service: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): void {
    this.server.addService(service, handlers);
  }

  /** Binds the port (0 picks one) and resolves with the bound port. */
  listen(
    port: number,
    host = "127.0.0.1",
    credentials = grpc.ServerCredentials.createInsecure(),
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, credentials, (err, bound) => {
        if (err !== null) reject(err);
        else resolve(bound);
      });
    });
  }

  /** Serves a new snapshot to every client; older snapshot versions are ignored. */
  setSnapshot(snapshot: Snapshot): void {
    if (this.snapshot !== undefined && snapshot.version <= this.snapshot.version) {
      this.deps.log.warn("ignoring a snapshot that is not newer", {
        version: snapshot.version,
        current: this.snapshot.version,
      });
      return;
    }
    this.snapshot = snapshot;
    for (const s of this.streams.values()) s.push();
  }

  get version(): number | undefined {
    return this.snapshot?.version;
  }

  /** The node ids of the clients connected now. */
  nodeIds(): string[] {
    const ids: string[] = [];
    for (const s of this.streams.values()) if (s.client.node?.id) ids.push(s.client.node.id);
    return ids;
  }

  clients(): ClientSummary[] {
    return [...this.streams.values()].map((s) => s.client.summary());
  }

  /**
   * Of the clients that hold resource `name` of `typeUrl`, how many have ACKed content at least as
   * new as snapshot `minVersion`. A client that ACKed a later version, or ACKed a version whose
   * content of this resource equals the current one, counts as confirmed.
   */
  confirmation(typeUrl: TypeUrl, name: string, minVersion: number): Confirmation {
    return this.confirmationFor([{ typeUrl, name }], minVersion);
  }

  /**
   * The same over several resources (e.g. every route configuration that carries a Service): a
   * client that holds any of them is a holder, and is confirmed only when it has ACKed all of
   * those it holds. "Has every proxy that routes to S ACKed at least V?" is `pending.length === 0`.
   */
  confirmationFor(refs: readonly ResourceRef[], minVersion: number): Confirmation {
    const current = this.snapshot;
    const has = (c: ClientConnection): "no" | "confirmed" | "pending" => {
      let holds = false;
      let ok = true;
      for (const { typeUrl, name } of refs) {
        const now = current?.resources.get(typeUrl)?.get(name);
        if (!c.holds(typeUrl, name, now !== undefined)) continue;
        holds = true;
        const state = c.types.get(typeUrl);
        const acked = state?.ackedVersion;
        ok &&=
          acked !== undefined &&
          current !== undefined &&
          current.version >= minVersion &&
          (acked >= minVersion ||
            (now !== undefined && state?.holdings.held(name)?.version === now.version));
      }
      return !holds ? "no" : ok ? "confirmed" : "pending";
    };
    let holders = 0;
    let confirmed = 0;
    const pending: ClientSummary[] = [];
    const disconnected: DepartedClient[] = [];
    for (const s of this.streams.values()) {
      const c = s.client;
      const h = has(c);
      if (h === "no") continue;
      holders++;
      if (h === "confirmed") confirmed++;
      else pending.push(c.summary());
    }
    this.pruneDeparted();
    for (const { client, at } of this.departed.values()) {
      const h = has(client);
      if (h === "no") continue;
      holders++;
      if (h === "confirmed") confirmed++;
      else disconnected.push({ ...client.summary(), disconnectedAt: at });
    }
    return { holders, confirmed, pending, disconnected };
  }

  /** Forgets the departed clients that are back, or whose proxy no longer runs. */
  private pruneDeparted(): void {
    if (this.departed.size === 0) return;
    const live = new Set<string>();
    for (const s of this.streams.values()) {
      const key = departedKey(s.client);
      if (key !== undefined) live.add(key);
    }
    for (const [key, { client }] of this.departed) {
      if (live.has(key) || this.deps.mayStillRoute?.(client.node?.id ?? "") !== true) {
        this.departed.delete(key);
      }
    }
  }

  /** Calls `listener` on every connect, disconnect, ACK and NACK; returns an unsubscribe. */
  onEvent(listener: (e: XdsEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const s of this.streams.values()) s.close();
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => {
        resolve();
      });
      // Streams stay open until clients leave; do not wait for them forever.
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000).unref();
    });
  }

  private emit(e: XdsEvent): void {
    if (e.kind === "nack") {
      this.deps.log.warn("client rejected configuration", {
        client: e.client.node?.id,
        typeUrl: e.typeUrl,
        version: e.version,
        error: e.message,
      });
    }
    for (const l of this.listeners) l(e);
  }

  private open<H extends Holdings, S extends Stream>(
    transport: "sotw" | "delta",
    newHoldings: () => H,
    call: grpc.ServerDuplexStream<unknown, unknown>,
    caller: Caller | undefined,
    make: (client: ClientConnection<H>) => S,
  ): S {
    const client = new ClientConnection(
      this.nextId++,
      transport,
      this.deps.clock.now(),
      caller === undefined ? undefined : callerNamespace(caller),
      newHoldings,
    );
    const stream = make(client);
    this.streams.set(client.id, stream);
    this.calls.set(client.id, call);
    this.emit({ kind: "connect", client });
    const done = (): void => {
      this.calls.delete(client.id);
      if (!this.streams.delete(client.id)) return;
      stream.close();
      const key = departedKey(client);
      if (
        key !== undefined &&
        this.standby === undefined &&
        this.deps.mayStillRoute !== undefined
      ) {
        this.pruneDeparted();
        this.departed.set(key, { client, at: this.deps.clock.now() });
      }
      this.emit({ kind: "disconnect", client });
    };
    call.on("end", () => {
      done();
      call.end();
    });
    call.on("error", done);
    call.on("cancelled", done);
    call.on("close", done);
    return stream;
  }

  private adsHandlers(): AggregatedDiscoveryServiceHandlers {
    return {
      StreamAggregatedResources: (call) => {
        if (this.refusedAsStandby(call)) return;
        guardStream(this.deps.auth, call, "required", (caller) => {
          const stream = this.open(
            "sotw",
            () => new SotwHoldings(),
            call,
            caller,
            (c) => new SotwStream(call, c, this.ctx),
          );
          return (req) => {
            stream.onRequest(req as Parameters<SotwStream["onRequest"]>[0]);
          };
        });
      },
      DeltaAggregatedResources: (call) => {
        if (this.refusedAsStandby(call)) return;
        guardStream(this.deps.auth, call, "required", (caller) => {
          const stream = this.open(
            "delta",
            () => new DeltaHoldings(),
            call,
            caller,
            (c) => new DeltaStream(call, c, this.ctx),
          );
          return (req) => {
            stream.onRequest(req as Parameters<DeltaStream["onRequest"]>[0]);
          };
        });
      },
    };
  }

  private refusedAsStandby(call: grpc.ServerDuplexStream<unknown, unknown>): boolean {
    if (this.standby === undefined) return false;
    refuse(call, grpc.status.UNAVAILABLE, this.standby);
    return true;
  }
}

/** A client's node id with the namespace its credentials proved; undefined without a node id. */
function departedKey(c: ClientConnection): string | undefined {
  const id = c.node?.id;
  return id ? `${c.namespace ?? ""}\u0000${id}` : undefined;
}
