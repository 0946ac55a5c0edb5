// The Rollout controller on the local cluster, with the real control plane: a new image released
// step by step and promoted, an abort that returns to the primary, a pause held until promote, and
// a controller restarted mid-release that resumes where it was.
import assert from "node:assert/strict";
import { join } from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { ensureCrd } from "./crds.js";
import { plainEcho } from "./mesh-pods.js";
import {
  cluster,
  controllerConfig,
  eventually,
  recordUntil,
  repoRoot,
  rolloutStatus,
  useNamespace,
} from "./harness.js";

interface Status {
  phase?: string;
  canaryWeight?: number;
  verifiedWeight?: number;
  currentStep?: number;
  message?: string;
}

describe("Rollout controller on the local cluster", function () {
  this.timeout(180_000);
  const ns = useNamespace("rollouts");
  let running: RunningController | undefined;
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);
  const rolloutApi = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };

  const status = (name: string): Promise<Status> => rolloutStatus<Status>(ns(), name);

  /** Polls the status every 100 ms, recording each distinct (phase, weight, step) until `done`. */
  function follow(
    name: string,
    done: (s: Status) => boolean,
    timeoutMs = 120_000,
  ): Promise<Status[]> {
    const key = (x: Status | undefined): string =>
      JSON.stringify([x?.phase, x?.canaryWeight, x?.verifiedWeight, x?.currentStep]);
    return recordUntil(`rollout ${name} to finish`, () => status(name), key, done, timeoutMs, 100);
  }

  async function setImage(name: string, image: string): Promise<void> {
    await cluster().apps.patchNamespacedDeployment(
      {
        namespace: ns(),
        name,
        body: { spec: { template: { spec: { containers: [{ name: "app", image }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  async function annotate(name: string, action: string): Promise<void> {
    await custom().patchNamespacedCustomObject(
      {
        ...rolloutApi,
        namespace: ns(),
        name,
        body: {
          metadata: {
            annotations: {
              "vireo.dev/action": action,
              "vireo.dev/action-id": `${action}-${Date.now()}`,
            },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async function primaryImage(name: string): Promise<string | undefined> {
    const d = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: `${name}-primary`,
    });
    return d.spec?.template.spec?.containers[0]?.image;
  }

  async function createApp(name: string, steps: object[]): Promise<void> {
    await cluster().apps.createNamespacedDeployment({ namespace: ns(), body: plainEcho(name) });
    await custom().createNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          service: { port: 80, targetPort: 8080 },
          progressDeadlineSeconds: 60,
          strategy: { canary: { steps } },
          analysis: { interval: "1s", threshold: 2 },
        },
      },
    });
    await follow(name, (s) => s.phase === "Initialized", 60_000);
  }

  before(async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    running = await startController(controllerConfig(ns()), () => undefined);
  });
  after(async () => {
    await running?.stop();
  });

  it("initializes: primary ready, Services created, target scaled to zero", async () => {
    await createApp("podinfo", [{ setWeight: 30 }, { setWeight: 60 }]);
    const { apps, core } = cluster();
    const target = await apps.readNamespacedDeployment({ namespace: ns(), name: "podinfo" });
    assert.equal(target.spec?.replicas, 0);
    const primary = await apps.readNamespacedDeployment({
      namespace: ns(),
      name: "podinfo-primary",
    });
    assert.equal(primary.status?.readyReplicas, 1);
    for (const svc of ["podinfo", "podinfo-primary", "podinfo-canary"]) {
      await core.readNamespacedService({ namespace: ns(), name: svc });
    }
  });

  it("releases a new image step by step (30, 60) and promotes it", async () => {
    await setImage("podinfo", "vireo/echo:v2");
    const seen = await follow("podinfo", (s) => s.phase === "Succeeded");
    // Verified weights in the order they were seen: each step confirmed by the proxies in turn,
    // then all to the analysed canary while the primary is updated, then all back to the primary.
    const verified = seen
      .map((s) => s.verifiedWeight ?? 0)
      .filter((w, i, a) => i === 0 || w !== a[i - 1]);
    assert.deepEqual(
      verified,
      [0, 30, 60, 100, 0],
      JSON.stringify(seen.map((s) => [s.phase, s.canaryWeight, s.verifiedWeight])),
    );
    assert.equal(await primaryImage("podinfo"), "vireo/echo:v2");
    const target = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "podinfo",
    });
    assert.equal(target.spec?.replicas, 0, "the canary is scaled down after promotion");
    const final = await status("podinfo");
    assert.equal(final.canaryWeight, 0);
  });

  it("returns all traffic to the primary when aborted", async () => {
    await setImage("podinfo", "vireo/echo:v3");
    await follow("podinfo", (s) => s.phase === "Progressing" && s.verifiedWeight === 30);
    await annotate("podinfo", "abort");
    await follow("podinfo", (s) => s.phase === "Failed");
    const s = await status("podinfo");
    assert.equal(s.canaryWeight, 0);
    assert.equal(
      await primaryImage("podinfo"),
      "vireo/echo:v2",
      "the primary keeps the last good version",
    );
  });

  it("holds a pause without duration until promoted", async () => {
    await createApp("paused", [{ setWeight: 50 }, { pause: {} }]);
    await setImage("paused", "vireo/echo:v2");
    await follow("paused", (s) => s.phase === "Paused");
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await status("paused")).phase, "Paused", "still held");
    await annotate("paused", "promote");
    await follow("paused", (s) => s.phase === "Succeeded");
    assert.equal(await primaryImage("paused"), "vireo/echo:v2");
  });

  it("resumes a release after the controller restarts mid-way, without repeating a step", async () => {
    await createApp("resumed", [
      { setWeight: 20 },
      { pause: { duration: "3s" } },
      { setWeight: 40 },
    ]);
    await setImage("resumed", "vireo/echo:v2");
    await follow("resumed", (s) => s.phase === "Progressing" && s.verifiedWeight === 20);
    const before = await status("resumed");
    await running?.stop();
    running = await startController(controllerConfig(ns()), () => undefined);
    const seen = await follow("resumed", (s) => s.phase === "Succeeded");
    const steps = seen.map((s) => s.currentStep ?? 0);
    assert.ok(
      steps.every((x, i) => i === 0 || x >= (steps[i - 1] ?? 0)),
      `steps went back: ${steps.join(",")}`,
    );
    assert.ok((seen[0]?.currentStep ?? 0) >= (before.currentStep ?? 0));
    assert.equal(await primaryImage("resumed"), "vireo/echo:v2");
  });

  it("leaves everything as it is when a Rollout without revertOnDeletion is deleted", async () => {
    await createApp("kept", [{ setWeight: 50 }]);
    const r = (await custom().getNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      name: "kept",
    })) as { metadata: { finalizers?: string[] } };
    assert.deepEqual(r.metadata.finalizers ?? [], [], "no finalizer without revertOnDeletion");
    await custom().deleteNamespacedCustomObject({ ...rolloutApi, namespace: ns(), name: "kept" });
    await eventually("the Rollout to be gone", async () =>
      status("kept").then(
        () => undefined,
        (err: unknown) => ((err as { code?: number }).code === 404 ? true : undefined),
      ),
    );
    const { apps, core } = cluster();
    const primary = await apps.readNamespacedDeployment({ namespace: ns(), name: "kept-primary" });
    assert.equal(primary.status?.readyReplicas, 1, "the primary keeps serving");
    const target = await apps.readNamespacedDeployment({ namespace: ns(), name: "kept" });
    assert.equal(target.spec?.replicas, 0, "the target stays at zero");
    const apex = await core.readNamespacedService({ namespace: ns(), name: "kept" });
    assert.deepEqual(apex.spec?.selector, { app: "kept-primary" });
    for (const svc of ["kept-primary", "kept-canary"]) {
      await core.readNamespacedService({ namespace: ns(), name: svc });
    }
  });
});
