// Checks off the reconcile path (issue 15), on the local cluster with one reconcile worker: while
// Rollout `slow`'s analysis webhook has been asked and does not answer, Rollout `bad`, whose checks
// fail (its Prometheus refuses), is still rolled back. Before, the worker waited for the webhook
// (up to its 5-minute timeout here) and every other Rollout waited with it.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { freePort } from "../support/prometheus.js";
import { ensureCrd } from "./crds.js";
import {
  cluster,
  controllerConfig,
  eventually,
  repoRoot,
  rolloutStatus,
  useNamespace,
} from "./harness.js";
import { GATEWAY, plainEcho } from "./mesh-pods.js";

interface Status {
  phase?: string;
  verifiedWeight?: number;
  message?: string;
}

describe("checks off the reconcile path: a hung webhook holds no other Rollout", function () {
  this.timeout(240_000);
  const ns = useNamespace("hung-webhook");
  let running: RunningController | undefined;
  /** Requests the hung webhook holds, answered only when the test lets them go. */
  const held: ServerResponse[] = [];
  const hook = createServer((_req: IncomingMessage, res: ServerResponse) => {
    held.push(res);
  });
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);

  async function rollout(name: string, analysis: object): Promise<void> {
    await custom().createNamespacedCustomObject({
      group: "vireo.dev",
      version: "v1alpha1",
      plural: "rollouts",
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          service: { port: 80, targetPort: 8080 },
          progressDeadlineSeconds: 120,
          strategy: { canary: { steps: [{ setWeight: 50 }] } },
          analysis,
        },
      },
    });
  }

  const status = (name: string): Promise<Partial<Status>> => rolloutStatus<Status>(ns(), name);

  async function release(name: string): Promise<void> {
    await cluster().apps.patchNamespacedDeployment(
      {
        namespace: ns(),
        name,
        body: {
          spec: {
            template: { spec: { containers: [{ name: "app", args: ["--version=v2"] }] } },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  before(async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    await new Promise<void>((resolve) => hook.listen(0, GATEWAY, resolve));
    running = await startController(
      controllerConfig(ns(), {
        xdsHost: GATEWAY,
        // Every query refused, as by a Prometheus that is down: `bad`'s checks are errors.
        prometheusUrl: `http://127.0.0.1:${String(await freePort())}`,
        workers: 1,
      }),
      () => undefined,
    );
    for (const name of ["slow", "bad"]) {
      await cluster().apps.createNamespacedDeployment({
        namespace: ns(),
        body: plainEcho(name, ["--version=v1"]),
      });
    }
    const { port } = hook.address() as AddressInfo;
    await rollout("slow", {
      interval: "5s",
      threshold: 2,
      webhooks: [
        {
          name: "hangs",
          type: "rollout",
          url: `http://${GATEWAY}:${String(port)}/`,
          timeout: "300s",
        },
      ],
    });
    await rollout("bad", {
      interval: "5s",
      threshold: 2,
      minRequests: 1,
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
    });
    for (const name of ["slow", "bad"]) {
      await eventually(
        `${name} initialized`,
        async () => ((await status(name)).phase === "Initialized" ? true : undefined),
        120_000,
        500,
      );
    }
  });

  after(async () => {
    for (const res of held) res.end("{}");
    hook.close();
    await running?.stop();
  });

  it("rolls `bad` back while `slow`'s webhook has not answered", async () => {
    await release("slow");
    await eventually(
      "slow's analysis webhook to be asked",
      () => (held.length > 0 ? true : undefined),
      120_000,
      250,
    );
    await release("bad");
    const last = await eventually(
      "bad to be rolled back, weight 0 confirmed",
      async () => {
        const s = await status("bad");
        return s.phase === "Failed" && s.verifiedWeight === 0 ? s : undefined;
      },
      120_000,
      500,
    );
    assert.match(last.message ?? "", /failed checks/i);
    // Still hung: `bad`'s whole release and rollback happened inside it.
    assert.ok(
      held.every((r) => !r.writableEnded),
      "the webhook answered before the rollback",
    );
    const slow = await status("slow");
    assert.equal(slow.phase, "Progressing", JSON.stringify(slow));
  });
});
