// Two controller replicas with leader election on the real API server: only the leader serves xDS
// (a standby ends streams with UNAVAILABLE, so proxies reconnect to the leader, whose routing they
// confirm), the leader labels its pod for the Service, and the standby takes over when it stops.
import assert from "node:assert/strict";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { SERVING_LABEL } from "../../src/kube/serving-label.js";
import { TYPE } from "../../src/xds/snapshot.js";
import { SotwTestClient } from "../support/ads-test-client.js";
import { ensureCrd } from "./crds.js";
import {
  cluster,
  controllerConfig,
  eventually,
  repoRoot,
  standInPod,
  useNamespace,
} from "./harness.js";
import { join } from "node:path";

describe("xDS served by the leading replica only", function () {
  this.timeout(90_000);
  const ns = useNamespace("standby");

  /** What a client of `port` gets: clusters, or the status its stream ended with. */
  async function ask(port: number): Promise<"served" | number> {
    const c = new SotwTestClient(port, `probe-${String(port)}`);
    c.send({ type_url: TYPE.cluster });
    const got = await Promise.race([
      c.responses.next().then(() => "served" as const),
      c.ended.then((s) => s.code),
    ]);
    c.close();
    return got;
  }

  async function labelled(pod: string): Promise<string | undefined> {
    const p = await cluster().core.readNamespacedPod({ namespace: ns(), name: pod });
    return p.metadata?.labels?.[SERVING_LABEL];
  }

  it("serves from the leader, refuses from the standby, and hands over", async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    // Stand-ins for the two replicas' own pods: they only carry the label, and stay Pending.
    for (const name of ["replica-a", "replica-b"]) await standInPod(ns(), name);
    const replica = (name: string): Promise<RunningController> =>
      startController(
        controllerConfig(ns(), {
          xdsInsecure: true,
          leaderElection: true,
          identity: name,
          podName: name,
        }),
        () => undefined,
      );
    const a = await replica("replica-a");
    const b = await replica("replica-b");
    const leaderName = await eventually("a leader to serve", async () => {
      const served = await Promise.all([ask(a.xdsPort), ask(b.xdsPort)]);
      return served.filter((s) => s === "served").length === 1
        ? served[0] === "served"
          ? "replica-a"
          : "replica-b"
        : undefined;
    });
    const [leader, standby, standbyName] =
      leaderName === "replica-a" ? [a, b, "replica-b"] : [b, a, "replica-a"];
    assert.equal(await ask(standby.xdsPort), 14, "the standby answers UNAVAILABLE");
    await eventually("the leader's pod labelled", async () =>
      (await labelled(leaderName)) === "true" ? true : undefined,
    );
    assert.equal(await labelled(standbyName), undefined);

    await leader.stop();
    assert.equal(await labelled(leaderName), undefined, "the label goes with the leadership");
    await eventually(
      "the standby to take over and serve",
      async () => ((await ask(standby.xdsPort)) === "served" ? true : undefined),
      30_000,
    );
    await eventually("the new leader's pod labelled", async () =>
      (await labelled(standbyName)) === "true" ? true : undefined,
    );
    await standby.stop();
  });
});
