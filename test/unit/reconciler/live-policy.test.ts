// A spec edit to a Rollout's policy (timeout, retries) reaches the proxies without a new release:
// the real reconcile() with in-memory fakes of our own ports, the real XdsTrafficRouter and xDS
// server, and an ADS client that reads the route configuration a proxy would get. Before the fix
// the control plane kept the old policy until the next weight change (issue 17: 5 s stayed 5 s).
import assert from "node:assert/strict";
import { statusToWire } from "../../../src/api/parse-status.js";
import type { RolloutSpecWire, RolloutWire } from "../../../src/api/rollout-wire.js";
import { FakeClock } from "../../../src/common/clock.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import { reconcile } from "../../../src/reconciler/reconcile.js";
import { routeConfigName } from "../../../src/xds/names.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import { SotwTestClient } from "../../support/ads-test-client.js";
import { atRest, env, log, MemoryWorkload, pausedAt, rolloutWire } from "./memory-ports.js";

const RC = routeConfigName("ns", "app", 80);

function rollout(generation: number, spec: RolloutSpecWire, status: RolloutStatus): RolloutWire {
  return rolloutWire(generation, spec, statusToWire(status));
}

const baseSpec = (service: RolloutSpecWire["service"]): RolloutSpecWire => ({
  targetRef: { kind: "Deployment", name: "app" },
  service,
  strategy: { canary: { steps: [{ setWeight: 10 }, { setWeight: 50 }] } },
});

/** The route action a proxy gets for the apex's default route, as proto-loader decodes it. */
interface DecodedAction {
  timeout?: { seconds: string | number; nanos: number };
  retry_policy?: { num_retries?: { value: number }; retry_on?: string };
  weighted_clusters?: { clusters: { name: string; weight: { value: number } }[] };
  cluster?: string;
}

function apexAction(resources: unknown[]): DecodedAction {
  const rc = resources[0] as {
    name: string;
    virtual_hosts: { routes: { route?: DecodedAction }[] }[];
  };
  assert.equal(rc.name, RC);
  const routes = rc.virtual_hosts.flatMap((v) => v.routes);
  const last = routes[routes.length - 1]?.route;
  assert.ok(last !== undefined, "a default route");
  return last;
}

const timeoutMs = (a: DecodedAction): number =>
  Number(a.timeout?.seconds ?? 0) * 1000 + (a.timeout?.nanos ?? 0) / 1e6;

const canaryWeight = (a: DecodedAction): number =>
  a.weighted_clusters?.clusters.find((c) => c.name.includes("app-canary"))?.weight.value ?? 0;

describe("reconcile: live policy edits reach the proxies", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let listenPort: number;
  let client: SotwTestClient | undefined;

  beforeEach(async () => {
    server = new XdsServer({ log, clock: new FakeClock() });
    listenPort = await server.listen(0);
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await server.close();
  });

  /** Subscribes to the apex's route configuration and ACKs each version. */
  function subscribe(): { next: () => Promise<DecodedAction> } {
    const c = new SotwTestClient(listenPort, "proxy-a");
    client = c;
    c.send({ type_url: TYPE.route, resource_names: [RC] });
    return {
      next: async () => {
        const r = await c.responses.next();
        c.ack(r, [RC]);
        return apexAction(r.resources);
      },
    };
  }

  it("at rest (Succeeded): a timeout edit from 5s to 7s is pushed at once", async () => {
    const e = env(server, new MemoryWorkload("r1"));
    const rest = atRest(2);
    await reconcile(rollout(1, baseSpec({ port: 80, timeout: "5s" }), rest), e.deps);
    e.publish();
    const proxy = subscribe();
    const first = await proxy.next();
    assert.equal(timeoutMs(first), 5000);

    const seen = e.written.at(-1) ?? rest;
    const r = await reconcile(rollout(2, baseSpec({ port: 80, timeout: "7s" }), seen), e.deps);
    assert.ok(
      r.plan.actions.some((a) => a.kind === "setTraffic"),
      "the edit is pushed without a new release",
    );
    e.publish();
    const second = await proxy.next();
    assert.equal(timeoutMs(second), 7000);
    assert.equal(canaryWeight(second), 0);
    const status = e.written.at(-1);
    assert.equal(status?.phase, "Succeeded");
    assert.ok(status?.conditions.every((c) => c.observedGeneration === 2));

    // Nothing changed since: nothing is pushed again.
    const again = await reconcile(
      rollout(2, baseSpec({ port: 80, timeout: "7s" }), status ?? rest),
      e.deps,
    );
    assert.ok(!again.plan.actions.some((a) => a.kind === "setTraffic"));
  });

  it("mid-release (Paused at 10 %): a retries edit is pushed at the weight the proxies have", async () => {
    const e = env(server, new MemoryWorkload("r2"));
    const paused = { ...pausedAt(10), lastAnalysisAt: "2026-01-01T00:00:00.000Z" };
    const before = baseSpec({ port: 80, retries: { attempts: 2, retryOn: "5xx" } });
    await reconcile(rollout(1, before, paused), e.deps);
    e.publish();
    const proxy = subscribe();
    const first = await proxy.next();
    assert.equal(first.retry_policy?.num_retries?.value, 2);
    assert.equal(canaryWeight(first), 10);

    const after = baseSpec({ port: 80, retries: { attempts: 4, retryOn: "5xx,reset" } });
    const seen = e.written.at(-1) ?? paused;
    await reconcile(rollout(2, after, seen), e.deps);
    e.publish();
    const second = await proxy.next();
    assert.deepEqual(
      [
        second.retry_policy?.num_retries?.value,
        second.retry_policy?.retry_on,
        canaryWeight(second),
      ],
      [4, "5xx,reset", 10],
    );
    assert.equal(e.written.at(-1)?.phase, "Paused");
  });
});
