// Shared by the xDS client tests: a small cluster state, a control plane around the real vireo
// xDS server, decoding helpers, and polling.
import { PassThrough } from "node:stream";
import type { Clock } from "../../../src/common/clock.js";
import { systemClock } from "../../../src/common/clock.js";
import type { Logger } from "../../../src/common/logger.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import { createLogger } from "../../../src/common/logger.js";
import type { ClusterState, RoutingModel } from "../../../src/xds/model.js";
import { clusterName, routeConfigName } from "../../../src/xds/names.js";
import type { Codecs } from "../../../src/xds/protos.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import type { CodecName } from "../../../src/xds/type-urls.js";
import { FULL_NAMES } from "../../../src/xds/type-urls.js";
import { decodeMessage } from "../../../mesh/xds-client/codec/ads-codec.js";
import type { XdsEvent } from "../../../src/xds/server/stream-context.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import type { ResourceSet, Snapshot } from "../../../src/xds/snapshot.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";

export const NS = "demo";
export const PORT = 9898;
export const PRIMARY = clusterName(NS, "podinfo-primary", PORT);
export const CANARY = clusterName(NS, "podinfo-canary", PORT);
export const APEX = clusterName(NS, "podinfo", PORT);
export const ROUTE = routeConfigName(NS, "podinfo", PORT);

export const silentLog: Logger = createLogger({
  component: "xds-client-test",
  stream: new PassThrough(),
  level: "error",
});

export const codecs: Codecs = loadXdsProtos().codecs;

const FULL_NAME = new Map<unknown, string>(
  (Object.keys(FULL_NAMES) as CodecName[]).map((k) => [codecs[k], FULL_NAMES[k]]),
);

/**
 * What the proxy's client hands the converters: the message encoded by the control plane's codec,
 * then decoded by the proxy's static codec (in proto-loader's decoded shape, hence the `O`).
 */
export function decoded<I, O>(
  codec: { serialize(m: I): Buffer; deserialize(b: Buffer): O },
  message: I,
): O {
  const name = FULL_NAME.get(codec);
  if (name === undefined) throw new Error("not one of the control plane's codecs");
  return decodeMessage(name, codec.serialize(message)) as O;
}

/** podinfo with a primary (two endpoints in two zones) and a canary (one endpoint). */
export function clusterState(routing: Partial<RoutingModel> = {}): ClusterState {
  const ports = [{ name: "http", port: PORT, protocol: "http" as const }];
  const ep = (address: string, zone: string) => ({
    address,
    ports: { http: 8080 },
    ready: true,
    zone,
  });
  return {
    services: ["podinfo", "podinfo-primary", "podinfo-canary"].map((name) => ({
      namespace: NS,
      name,
      ports,
    })),
    endpoints: [
      {
        namespace: NS,
        service: "podinfo-primary",
        endpoints: [ep("10.0.0.1", "z1"), ep("10.0.0.2", "z2")],
      },
      { namespace: NS, service: "podinfo-canary", endpoints: [ep("10.0.1.1", "z1")] },
    ],
    routing: [
      {
        namespace: NS,
        service: "podinfo",
        primary: "podinfo-primary",
        canary: "podinfo-canary",
        canaryWeight: 10,
        timeoutMs: 5000,
        ...routing,
      },
    ],
  };
}

/** A route configuration no proxy may accept: weighted clusters whose weights sum to 0. */
export function broken(set: ResourceSet): ResourceSet {
  const routes = new Map(set.routes);
  const rc = structuredClone(routes.get(ROUTE));
  for (const vh of rc?.virtual_hosts ?? []) {
    for (const r of vh.routes ?? []) {
      const wc = r.route?.weighted_clusters;
      if (wc === undefined || wc === null) continue;
      for (const c of wc.clusters ?? []) c.weight = { value: 0 };
      wc.total_weight = { value: 0 };
    }
  }
  if (rc !== undefined) routes.set(ROUTE, rc);
  return { ...set, routes };
}

/** The real vireo xDS server, restartable on the same port. */
export class ControlPlane {
  server: XdsServer | undefined;
  port = 0;
  readonly events: XdsEvent[] = [];
  private version = 1;
  private last: Snapshot | undefined;

  constructor(private readonly clock: Clock = systemClock) {}

  async start(port = 0): Promise<void> {
    this.server = new XdsServer({ log: silentLog, clock: this.clock });
    this.server.onEvent((e) => this.events.push(e));
    this.port = await this.server.listen(port);
    if (this.last !== undefined) this.server.setSnapshot({ ...this.last, version: this.version++ });
  }

  publish(set: ResourceSet): Snapshot {
    const s = buildSnapshot(this.version++, set, codecs);
    this.last = s;
    this.server?.setSnapshot(s);
    return s;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

/** Polls `check` until it returns a value other than undefined; on timeout says what it awaited. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Cluster to weight of the last (default) route of a route table. */
export function weights(s: RoutingSnapshot, table = ROUTE): Record<string, number> {
  const route = s.routeTables.get(table)?.virtualHosts[0]?.routes.at(-1);
  const clusters = route?.kind === "forward" ? route.action.clusters : [];
  return Object.fromEntries(clusters.map((c) => [c.cluster, c.weight]));
}
