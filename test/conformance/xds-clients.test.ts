// vireo's xDS control plane against three xDS clients we did not write: grpc-js-xds, gRPC C-core
// (Debian's python3-grpcio) and grpc-go. Each routes real RPCs to real backends on loopback.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { PassThrough } from "node:stream";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import type { ClusterState, RoutingModel } from "../../src/xds/model.js";
import { routeConfigName } from "../../src/xds/names.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { XdsServer } from "../../src/xds/server/xds-server.js";
import type { XdsEvent } from "../../src/xds/server/stream-context.js";
import type { ResourceSet, Snapshot } from "../../src/xds/snapshot.js";
import { buildSnapshot } from "../../src/xds/snapshot.js";
import { translate } from "../../src/xds/translate/translate.js";
import type { Entry } from "../support/csds-test-client.js";
import { CsdsTestClient, entriesByNode } from "../support/csds-test-client.js";
import type { Backend } from "./backend.js";
import { startBackends } from "./backend.js";
import { writeBootstrap } from "./bootstrap.js";
import {
  CLIENT_KINDS,
  ensureClient,
  runClient,
  share,
  startStreamingClient,
} from "./run-client.js";

const NS = "conf";
const TARGET = "xds:///echo.conf:80";
const log = createLogger({ component: "conformance", stream: new PassThrough(), level: "error" });
const codecs = loadXdsProtos().codecs;

function state(backends: readonly Backend[], routing: Partial<RoutingModel>): ClusterState {
  const [primary, canary] = backends;
  const port = [{ name: "grpc", port: 80, protocol: "grpc" as const }];
  const ep = (b: Backend | undefined) => ({
    address: "127.0.0.1",
    ports: { grpc: b?.port ?? 0 },
    ready: true,
  });
  return {
    services: ["echo", "echo-primary", "echo-canary"].map((name) => ({
      namespace: NS,
      name,
      ports: port,
    })),
    endpoints: [
      { namespace: NS, service: "echo", endpoints: [ep(primary), ep(canary)] },
      { namespace: NS, service: "echo-primary", endpoints: [ep(primary)] },
      { namespace: NS, service: "echo-canary", endpoints: [ep(canary)] },
    ],
    routing: [
      {
        namespace: NS,
        service: "echo",
        primary: "echo-primary",
        canary: "echo-canary",
        canaryWeight: 20,
        ...routing,
      },
    ],
  };
}

/** A route configuration no client may accept: weighted clusters whose weights sum to 0. */
function broken(set: ResourceSet): ResourceSet {
  const routes = new Map(set.routes);
  const name = routeConfigName(NS, "echo", 80);
  const rc = structuredClone(routes.get(name));
  for (const vh of rc?.virtual_hosts ?? []) {
    for (const r of vh.routes ?? []) {
      const wc = r.route?.weighted_clusters;
      if (wc === undefined || wc === null) continue;
      for (const c of wc.clusters ?? []) c.weight = { value: 0 };
      wc.total_weight = { value: 0 };
    }
  }
  if (rc !== undefined) routes.set(name, rc);
  return { ...set, routes };
}

/** What CSDS says of one client, resource by resource. */
async function csdsOf(port: number, nodeId: string): Promise<Entry[]> {
  const csds = new CsdsTestClient(port);
  try {
    const { response } = await csds.fetch({ node_matchers: [{ node_id: { exact: nodeId } }] });
    return entriesByNode(response).get(nodeId) ?? [];
  } finally {
    csds.close();
  }
}

class ControlPlane {
  server: XdsServer | undefined;
  port = 0;
  private version = 1;
  private last: Snapshot | undefined;
  readonly events: XdsEvent[] = [];

  async start(port = 0): Promise<void> {
    this.server = new XdsServer({ log, clock: systemClock });
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

  /** Waits for an event of `kind` from `nodeId` for a version at least `min`. */
  async waitFor(kind: "ack" | "nack", nodeId: string, min: number, ms = 15_000): Promise<XdsEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = this.events.find(
        (x) => x.kind === kind && x.client.node?.id === nodeId && x.version >= min,
      );
      if (e !== undefined) return e;
      if (Date.now() > deadline) throw new Error(`no ${kind} from ${nodeId} for version >= ${min}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

for (const kind of CLIENT_KINDS) {
  describe(`xDS conformance: ${kind}`, function () {
    this.timeout(120_000);
    let backends: Backend[];
    const cp = new ControlPlane();
    let bootstrap: string;
    const nodeId = `conformance-${kind}`;

    before(async () => {
      await ensureClient(kind);
      backends = await startBackends(["primary", "canary"]);
      await cp.start();
      cp.publish(translate(state(backends, {})));
      bootstrap = writeBootstrap({ serverUri: `127.0.0.1:${cp.port}`, nodeId });
    });
    after(async () => {
      await cp.stop();
      for (const b of backends) await b.close();
      rmSync(dirname(bootstrap), { recursive: true, force: true });
    });

    it("splits 2,000 RPCs 80/20 between primary and canary within ±5 %", async () => {
      cp.publish(translate(state(backends, { canaryWeight: 20 })));
      const r = await runClient(kind, { bootstrap, target: TARGET, rpcs: 2000 });
      assert.equal(r.failures, 0, r.stderr);
      const canary = 100 * share(r, "canary");
      assert.ok(Math.abs(canary - 20) <= 5, `canary share ${canary.toFixed(1)} %`);
    });

    it("routes a header match to the named backend", async () => {
      cp.publish(
        translate(
          state(backends, {
            canaryWeight: 0,
            canaryMatches: [{ headers: { "x-user": { exact: "tester" } } }],
          }),
        ),
      );
      const matched = await runClient(kind, {
        bootstrap,
        target: TARGET,
        rpcs: 200,
        metadata: { "x-user": "tester" },
      });
      const other = await runClient(kind, {
        bootstrap,
        target: TARGET,
        rpcs: 200,
        metadata: { "x-user": "someone" },
      });
      assert.deepEqual(matched.byBackend, { canary: 200 }, matched.stderr);
      assert.deepEqual(other.byBackend, { primary: 200 }, other.stderr);
    });

    it("aborts half the RPCs with a 50 % fault within ±10 %", async () => {
      cp.publish(
        translate(
          state(backends, { canaryWeight: 0, fault: { abort: { percent: 50, grpcStatus: 14 } } }),
        ),
      );
      const r = await runClient(kind, { bootstrap, target: TARGET, rpcs: 1000 });
      const failed = (100 * r.failures) / 1000;
      assert.ok(Math.abs(failed - 50) <= 10, `${failed} % failed`);
      assert.equal(r.byStatus["14"], r.failures, "faults fail with the configured status");
    });

    it("keeps serving the previous config with zero failures when an update is NACKed, then ACKs the next", async () => {
      cp.publish(translate(state(backends, { canaryWeight: 20 })));
      const client = startStreamingClient(kind, { bootstrap, target: TARGET, qps: 100 });
      try {
        await client.waitFor((l) => (l.byStatus["0"] ?? 0) > 50, 20_000);
        const bad = cp.publish(broken(translate(state(backends, { canaryWeight: 20 }))));
        const nack = await cp.waitFor("nack", nodeId, bad.version);
        assert.equal(nack.kind, "nack");
        await new Promise((r) => setTimeout(r, 1500));
        // CSDS: the refused route configuration alone is NACKED; the client holds the rest.
        const route = routeConfigName(NS, "echo", 80);
        const during = (await csdsOf(cp.port, nodeId)).filter((e) => e.client !== "ACKED");
        assert.deepEqual(
          during.map((e) => [e.type, e.name, e.config, e.client, e.error?.version]),
          [["RouteConfiguration", route, "ERROR", "NACKED", String(bad.version)]],
        );
        const good = cp.publish(translate(state(backends, { canaryWeight: 50 })));
        await cp.waitFor("ack", nodeId, good.version);
        const after = await csdsOf(cp.port, nodeId);
        assert.ok(
          after.every((e) => e.config === "SYNCED" && e.client === "ACKED"),
          JSON.stringify(after),
        );
        assert.equal(after.find((e) => e.name === route)?.version, String(good.version));
        await client.waitFor((l) => (l.byBackend.canary ?? 0) > 30, 10_000);
        const status = cp.server?.clients().find((c) => c.nodeId === nodeId);
        const nacked = status?.types.find((t) => t.lastNack !== undefined);
        assert.equal(
          nacked?.lastNack?.version,
          bad.version,
          "the NACK is shown in the client's status",
        );
        const total = await client.stop();
        assert.equal(total.failures, 0, client.stderr());
      } finally {
        await client.stop().catch(() => undefined);
      }
    });

    it("reconnects after the control plane restarts and keeps routing", async () => {
      cp.publish(translate(state(backends, { canaryWeight: 20 })));
      const client = startStreamingClient(kind, { bootstrap, target: TARGET, qps: 100 });
      try {
        await client.waitFor((l) => (l.byStatus["0"] ?? 0) > 50, 20_000);
        const port = cp.port;
        await cp.stop();
        await new Promise((r) => setTimeout(r, 2000));
        cp.events.length = 0;
        await cp.start(port);
        const after = cp.publish(translate(state(backends, { canaryWeight: 50 })));
        await cp.waitFor("ack", nodeId, after.version, 30_000);
        const line = await client.waitFor(
          (l) => (l.byBackend.canary ?? 0) > 30 && (l.byBackend.primary ?? 0) > 30,
          15_000,
        );
        assert.ok(line.failures === 0, client.stderr());
        const total = await client.stop();
        assert.equal(total.failures, 0, client.stderr());
      } finally {
        await client.stop().catch(() => undefined);
      }
    });
  });
}
