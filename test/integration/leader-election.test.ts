// Leader election on the real API server: one of two replicas leads; when it stops, the other
// takes over; when a leader dies without releasing, the other waits out the lease and takes over.
import assert from "node:assert/strict";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { PassThrough } from "node:stream";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { LeaderElector } from "../../src/kube/leader-election.js";
import { startApiFaultProxy } from "./api-fault-proxy.js";
import { cluster, eventually, useNamespace } from "./harness.js";

const log = createLogger({ component: "le", stream: new PassThrough(), level: "error" });

describe("leader election", function () {
  this.timeout(60_000);
  const ns = useNamespace("leader");

  function elector(
    identity: string,
    leading: Set<string>,
    kc = cluster().kc,
    onChange: (leads: boolean) => void = () => undefined,
  ): LeaderElector {
    return new LeaderElector({
      api: kc.makeApiClient(CoordinationV1Api),
      namespace: ns(),
      name: "vireo-leader",
      identity,
      clock: systemClock,
      log,
      leaseDurationMs: 2000,
      renewEveryMs: 200,
      onStartedLeading: () => {
        leading.add(identity);
        onChange(true);
      },
      onStoppedLeading: () => {
        leading.delete(identity);
        onChange(false);
      },
    });
  }

  it("has exactly one leader, and hands over on stop", async () => {
    const leading = new Set<string>();
    const a = elector("a", leading);
    const b = elector("b", leading);
    const runs = [a.run(), b.run()];
    const first = await eventually("a leader", () =>
      leading.size === 1 ? [...leading][0] : undefined,
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(leading.size, 1, "never two leaders");
    const [leader, other] = first === "a" ? [a, b] : [b, a];
    await leader.stop();
    await eventually("the other replica leads", () => (other.isLeader ? true : undefined), 5000);
    assert.deepEqual([...leading], [first === "a" ? "b" : "a"]);
    await other.stop();
    await Promise.all(runs);
  });

  it("takes over an expired lease from a holder that died", async () => {
    const leading = new Set<string>();
    const dead = elector("dead", leading);
    const run = dead.run();
    await eventually("dead leads", () => (dead.isLeader ? true : undefined));
    // Simulate a crash: stop renewing without releasing the lease.
    (dead as unknown as { stopped: boolean }).stopped = true;
    await run;
    const t0 = Date.now();
    const heir = elector("heir", leading);
    const heirRun = heir.run();
    await eventually("heir leads", () => (heir.isLeader ? true : undefined), 10_000);
    assert.ok(Date.now() - t0 >= 1000, "waited for the lease to expire");
    await heir.stop();
    await heirRun;
  });

  it("steps down when its renewal gets no answer, before another replica can take the lease", async () => {
    const proxy = await startApiFaultProxy();
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    const leading = new Set<string>();
    const cut = elector("cut", leading, proxy.kc, (l) =>
      events.push(l ? "cut leads" : "cut stops"),
    );
    const cutRun = cut.run();
    await eventually("cut leads", () => (cut.isLeader ? true : undefined));
    const heir = elector("heir", leading, cluster().kc, (l) =>
      events.push(l ? "heir leads" : "heir stops"),
    );
    const heirRun = heir.run();
    // From now on cut's requests reach nothing and get no answer (a partition).
    proxy.fault = async () => {
      await held;
      return { kind: "reset" };
    };
    try {
      await eventually("heir leads", () => (heir.isLeader ? true : undefined), 15_000);
      assert.deepEqual(events, ["cut leads", "cut stops", "heir leads"], "never two leaders");
    } finally {
      release();
      await heir.stop();
      await cut.stop();
      await Promise.all([cutRun, heirRun]);
      await proxy.close();
    }
  });
});
