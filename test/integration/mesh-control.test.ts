// The Rollout controller driving vireo's own mesh on the local cluster, under constant load through
// a sidecar proxy: a release stepped to 100 % and promoted, an abort, a `pause: {}` held until
// promote, a controller stopped mid-release and replaced, and a proxy cut off from the control plane
// for 60 s while the weight moves. No request may fail at any switch.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { ensureCrd } from "./crds.js";
import {
  cluster,
  clusterDir,
  controllerConfig,
  eventually,
  podLogPath,
  prometheusURL,
  recordUntil,
  repoRoot,
  useNamespace,
} from "./harness.js";
import { curlLoad, echoApp, failedRequests, GATEWAY } from "./mesh-pods.js";

interface Status {
  phase?: string;
  canaryWeight?: number;
  verifiedWeight?: number;
  currentStep?: number;
  failedChecks?: number;
  message?: string;
}

const KUBECTL = process.env.VIREO_KUBECTL ?? "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const rolloutApi = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };
const run = promisify(execFile);

/** A port free now, so that a replacement controller can serve xDS where the proxies look. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, GATEWAY, () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

function kubectl(...args: string[]): string[] {
  return ["--kubeconfig", join(clusterDir, "kubeconfig"), ...args];
}

/**
 * A proxy's control-plane connection cut in its pod's network namespace: packets from the xDS
 * port are dropped, the open connection is reset (its reset still leaves), then packets to it are
 * dropped as well, so the proxy can neither keep nor open a connection until `stop`.
 */
class XdsCut {
  private readonly input: string[];
  private readonly output: string[];
  private readonly reset: string[];

  constructor(
    private readonly netns: string,
    port: number,
  ) {
    const p = String(port);
    this.input = ["INPUT", "-p", "tcp", "-s", GATEWAY, "--sport", p, "-j", "DROP"];
    this.output = ["OUTPUT", "-p", "tcp", "-d", GATEWAY, "--dport", p, "-j", "DROP"];
    this.reset = ["ss", "-K", "dst", GATEWAY, "dport", "=", p];
  }

  private async inNetns(...args: string[]): Promise<void> {
    await run("ip", ["netns", "exec", this.netns, ...args]);
  }

  async start(): Promise<void> {
    await this.inNetns("iptables", "-w", "-I", ...this.input);
    await this.inNetns(...this.reset);
    await this.inNetns("iptables", "-w", "-I", ...this.output);
  }

  async stop(): Promise<void> {
    for (const rule of [this.input, this.output]) {
      await this.inNetns("iptables", "-w", "-D", ...rule).catch(() => undefined);
    }
  }
}

/** Distinct successive values, e.g. the verified weights a release went through. */
function runs<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
}

describe("the Rollout controller through vireo's mesh, under load", function () {
  this.timeout(400_000);
  const ns = useNamespace("mesh-control");
  let running: RunningController | undefined;
  let xdsPort = 0;
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);

  async function start(): Promise<void> {
    running = await startController(
      controllerConfig(ns(), {
        xdsHost: GATEWAY,
        xdsPort,
        prometheusUrl: prometheusURL,
      }),
      () => undefined,
    );
  }

  async function rollout(): Promise<{ status?: Status; metadata: { generation?: number } }> {
    return (await custom().getNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      name: "app",
    })) as { status?: Status; metadata: { generation?: number } };
  }

  async function status(): Promise<Status> {
    return (await rollout()).status ?? {};
  }

  /** Records each distinct (phase, weights, step) until `done`. */
  function follow(done: (s: Status) => boolean, timeoutMs: number): Promise<Status[]> {
    const key = (x: Status | undefined): string =>
      JSON.stringify([x?.phase, x?.canaryWeight, x?.verifiedWeight, x?.currentStep]);
    return recordUntil("the rollout to reach the awaited state", status, key, done, timeoutMs, 200);
  }

  const show = (seen: readonly Status[]): string =>
    JSON.stringify(seen.map((s) => [s.phase, s.canaryWeight, s.verifiedWeight, s.currentStep]));

  async function loadgenLog(): Promise<string> {
    const pods = await cluster().core.listNamespacedPod({
      namespace: ns(),
      labelSelector: "app=loadgen",
    });
    const name = pods.items[0]?.metadata?.name ?? "";
    return readFile(podLogPath(ns(), name, "load"), "utf8").catch(() => "");
  }

  /** Where the load generator's log is now; `codesSince` reads the statuses after it. */
  async function mark(): Promise<number> {
    return (await loadgenLog()).length;
  }

  async function codesSince(offset: number): Promise<string[]> {
    return (await loadgenLog())
      .slice(offset)
      .split("\n")
      .filter((l) => l !== "");
  }

  /**
   * Every request the proxies reported in this namespace that did not end in 2xx (a 5xx, or 0 with
   * flag DC when the caller gave up first), by code and response flags.
   */
  async function failuresInPrometheus(): Promise<string> {
    const q = encodeURIComponent(
      `sum by (reporter, destination_workload, response_code, response_flags) (vireo_requests_total{response_code!~"2..", source_workload_namespace="${ns()}"})`,
    );
    const res = (await (await fetch(`${prometheusURL}/api/v1/query?query=${q}`)).json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return JSON.stringify(res.data.result.map((r) => ({ ...r.metric, count: r.value[1] })));
  }

  /** All requests since `offset` succeeded; says how many there were. */
  async function assertNoneFailed(offset: number, what: string, min = 30): Promise<number> {
    const codes = await codesSince(offset);
    assert.ok(codes.length >= min, `only ${codes.length} requests during ${what}`);
    const failed = failedRequests(codes);
    if (failed.length > 0) {
      // Give Prometheus a scrape to see them, then report their response flags.
      await new Promise((r) => setTimeout(r, 6000));
      assert.fail(
        `${failed.length} of ${codes.length} requests failed during ${what}: ${failed.join("; ")}; proxies report ${await failuresInPrometheus()}`,
      );
    }
    process.stdout.write(`      ${codes.length} requests during ${what}, all 200\n`);
    return codes.length;
  }

  async function release(version: string): Promise<void> {
    await cluster().apps.patchNamespacedDeployment(
      {
        namespace: ns(),
        name: "app",
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: "app", image: "vireo/echo:v1", args: [version] }] },
            },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  async function setSteps(steps: object[]): Promise<void> {
    await custom().patchNamespacedCustomObject(
      {
        ...rolloutApi,
        namespace: ns(),
        name: "app",
        body: { spec: { strategy: { canary: { steps } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Planned from the new spec before anything else happens.
    const generation = (await rollout()).metadata.generation;
    await eventually("the spec change to be observed", async () => {
      const r = (await rollout()) as { status?: { observedGeneration?: number } };
      return r.status?.observedGeneration === generation ? true : undefined;
    });
  }

  async function annotate(action: string): Promise<void> {
    await custom().patchNamespacedCustomObject(
      {
        ...rolloutApi,
        namespace: ns(),
        name: "app",
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

  async function primaryArgs(): Promise<string[] | undefined> {
    const d = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "app-primary",
    });
    return d.spec?.template.spec?.containers.find((c) => c.name === "app")?.args;
  }

  async function primaryGeneration(): Promise<number> {
    const d = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "app-primary",
    });
    return d.metadata?.generation ?? 0;
  }

  /** The reasons of the Rollout's Events, oldest first. */
  async function eventReasons(): Promise<string[]> {
    const list = await cluster().core.listNamespacedEvent({
      namespace: ns(),
      fieldSelector: "involvedObject.kind=Rollout,involvedObject.name=app",
    });
    return list.items
      .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))
      .map((e) => e.reason ?? "");
  }

  before(async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    xdsPort = await freePort();
    await start();
    const xds = `${GATEWAY}:${xdsPort}`;
    const { apps } = cluster();
    await apps.createNamespacedDeployment({ namespace: ns(), body: echoApp(xds) });
    await custom().createNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name: "app" },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "app" },
          service: { port: 80, targetPort: 15006 },
          progressDeadlineSeconds: 180,
          revertOnDeletion: true,
          strategy: {
            canary: { steps: [{ setWeight: 20 }, { setWeight: 50 }, { setWeight: 100 }] },
          },
          analysis: {
            interval: "4s",
            threshold: 2,
            // A busy machine slows the curl loop: a window may see only a few canary requests.
            minRequests: 3,
            metrics: [{ name: "request-success-rate", thresholdRange: { min: 90 } }],
          },
        },
      },
    });
    const url = `http://app.${ns()}:80/`;
    await apps.createNamespacedDeployment({ namespace: ns(), body: curlLoad(xds, url) });
    await follow((s) => s.phase === "Initialized", 120_000);
    await eventually("load through the proxy", async () =>
      (await codesSince(0)).length > 10 ? true : undefined,
    );
  });

  after(async () => {
    await running?.stop();
  });

  it("releases a new version step by step to 100 % and promotes it; kubectl shows it", async () => {
    const from = await mark();
    const generation = await primaryGeneration();
    // What `kubectl get rollouts -w` prints during the release, for the record.
    const watch: ChildProcess = spawn(KUBECTL, kubectl("get", "rollouts", "-n", ns(), "-w"));
    let watched = "";
    watch.stdout?.on("data", (b: Buffer) => {
      watched += b.toString();
    });
    try {
      await release("--version=v2");
      const seen = await follow((s) => s.phase === "Succeeded" || s.phase === "Failed", 240_000);
      assert.equal(seen.at(-1)?.phase, "Succeeded", show(seen));
      // Each step confirmed by every proxy in turn, then all back to the promoted primary.
      assert.deepEqual(
        runs(seen.map((s) => s.verifiedWeight ?? 0)),
        [0, 20, 50, 100, 0],
        show(seen),
      );
      process.stdout.write(
        `      verified weights: ${runs(seen.map((s) => s.verifiedWeight ?? 0)).join(" → ")}\n`,
      );
    } finally {
      watch.kill();
    }
    process.stdout.write(`      kubectl get rollouts -w during the release:\n${watched}\n`);
    assert.match(watched, /Progressing\s+20\s+1\s+0/);
    // FAILED may be 1: a window with too few canary requests counts (threshold 2).
    assert.match(watched, /Succeeded\s+0\s+3\s+[01]\s/);
    assert.deepEqual(await primaryArgs(), ["--version=v2"]);
    assert.equal(await primaryGeneration(), generation + 1, "the primary was updated once");
    const target = await cluster().apps.readNamespacedDeployment({ namespace: ns(), name: "app" });
    assert.equal(target.spec?.replicas, 0, "the canary is scaled down after promotion");
    await assertNoneFailed(from, "the release to 100 %", 100);

    // The printer columns, as a person sees them.
    const { stdout: plain } = await run(KUBECTL, kubectl("get", "rollouts", "-n", ns()));
    const [header, row] = plain.trimEnd().split("\n");
    assert.deepEqual(header?.split(/\s{2,}/), [
      "NAME",
      "STATUS",
      "WEIGHT",
      "STEP",
      "FAILED",
      "LAST TRANSITION",
      "AGE",
    ]);
    assert.match(row ?? "", /^app\s+Succeeded\s+0\s+3\s+[01]\s+\d+[smh]\S*\s+\d+[smh]\S*$/);
    const { stdout: wide } = await run(KUBECTL, kubectl("get", "ro", "-n", ns(), "-o", "wide"));
    const [wideHeader, wideRow] = wide.trimEnd().split("\n");
    assert.deepEqual(wideHeader?.split(/\s{2,}/), [
      "NAME",
      "STATUS",
      "WEIGHT",
      "STEP",
      "FAILED",
      "LAST TRANSITION",
      "AGE",
      "CANARY REVISION",
      "PRIMARY REVISION",
      "STALLED",
      "MESSAGE",
    ]);
    const s = (await rollout()) as {
      status?: { canaryRevision?: string; primaryRevision?: string };
    };
    const rev = s.status?.primaryRevision ?? "?";
    assert.equal(s.status?.canaryRevision, rev);
    assert.match(
      wideRow ?? "",
      new RegExp(
        `^app\\s+Succeeded\\s.*\\s${rev}\\s+${rev}\\s+False\\s+app-primary serves revision ${rev}$`,
      ),
    );
    process.stdout.write(`      kubectl get ro -o wide:\n${wide}`);
  });

  it("returns to the primary when a release is aborted", async () => {
    const from = await mark();
    await release("--version=v3");
    await follow((s) => s.phase === "Progressing" && s.verifiedWeight === 20, 120_000);
    await annotate("abort");
    const seen = await follow((s) => s.phase === "Failed" && s.verifiedWeight === 0, 120_000);
    assert.equal(seen.at(-1)?.canaryWeight, 0, show(seen));
    assert.deepEqual(await primaryArgs(), ["--version=v2"], "the primary keeps v2");
    await eventually("the canary scaled down", async () => {
      const t = await cluster().apps.readNamespacedDeployment({ namespace: ns(), name: "app" });
      return t.spec?.replicas === 0 ? true : undefined;
    });
    await assertNoneFailed(from, "the aborted release");
  });

  it("holds a `pause: {}` until promoted", async () => {
    await setSteps([{ setWeight: 30 }, { pause: {} }, { setWeight: 60 }]);
    const from = await mark();
    await release("--version=v4");
    await follow((s) => s.phase === "Paused", 120_000);
    await new Promise((r) => setTimeout(r, 8000));
    const held = await status();
    assert.equal(held.phase, "Paused", "still held after 8 s");
    assert.equal(held.verifiedWeight, 30);
    assert.equal(held.currentStep, 2);
    await annotate("promote");
    const seen = await follow((s) => s.phase === "Succeeded" || s.phase === "Failed", 240_000);
    assert.equal(seen.at(-1)?.phase, "Succeeded", show(seen));
    assert.deepEqual(await primaryArgs(), ["--version=v4"]);
    await assertNoneFailed(from, "the paused release");
  });

  it("resumes a release after the controller is stopped and replaced mid-way", async () => {
    await setSteps([
      { setWeight: 20 },
      { pause: { duration: "6s" } },
      { setWeight: 40 },
      { pause: { duration: "6s" } },
      { setWeight: 60 },
    ]);
    const from = await mark();
    const generation = await primaryGeneration();
    const promotionsBefore = (await eventReasons()).filter((r) => r === "Promoting").length;
    await release("--version=v5");
    const first = await follow(
      (s) => s.phase === "Progressing" && s.verifiedWeight === 20 && s.currentStep === 2,
      120_000,
    );
    await running?.stop();
    running = undefined;
    const stoppedAt = await status();
    // The proxies keep serving what they were last told while no control plane answers.
    await new Promise((r) => setTimeout(r, 5000));
    assert.deepEqual(await status(), stoppedAt, "nothing moves without a controller");
    await start();
    // Before it has reconciled anything, the new controller serves the weight the status records.
    assert.equal(
      (running as RunningController | undefined)?.traffic.state(ns(), "app").requested
        ?.canaryWeight,
      20,
    );
    const second = await follow((s) => s.phase === "Succeeded" || s.phase === "Failed", 240_000);
    const seen = [...first, ...second];
    assert.equal(seen.at(-1)?.phase, "Succeeded", show(seen));
    const steps = runs(
      seen.filter((s) => s.phase === "Progressing").map((s) => s.currentStep ?? 0),
    );
    assert.deepEqual(steps, [0, 1, 2, 3, 4, 5], `no step skipped or repeated: ${show(seen)}`);
    const verified = runs(
      seen.filter((s) => s.phase === "Progressing").map((s) => s.verifiedWeight ?? 0),
    );
    assert.deepEqual(verified, [0, 20, 40, 60], show(seen));
    assert.deepEqual(await primaryArgs(), ["--version=v5"]);
    assert.equal(await primaryGeneration(), generation + 1, "the primary was updated once");
    const promotions = (await eventReasons()).filter((r) => r === "Promoting").length;
    assert.equal(promotions - promotionsBefore, 1, "promoted once");
    process.stdout.write(`      steps after the restart: ${show(second)}\n`);
    await assertNoneFailed(from, "the release with a controller restart");
  });

  it("waits for a proxy cut off from the control plane for 60 s, names it, and goes on when it is back", async () => {
    await setSteps([{ setWeight: 20 }, { pause: { duration: "15s" } }, { setWeight: 50 }]);
    const from = await mark();
    await release("--version=v6");
    const first = await follow((s) => s.phase === "Progressing" && s.currentStep === 2, 120_000);
    const pods = await cluster().core.listNamespacedPod({
      namespace: ns(),
      labelSelector: "app=loadgen",
    });
    const loadgen = pods.items[0]?.metadata;
    assert.ok(loadgen?.name !== undefined && loadgen.uid !== undefined, "the loadgen pod");
    const cut = new XdsCut(`vp-${loadgen.uid.replaceAll("-", "").slice(0, 12)}`, xdsPort);
    const cutAt = Date.now();
    let held: Status[];
    try {
      await cut.start();
      // The weight moves to 50 % while the loadgen's proxy is cut off: every other proxy ACKs it,
      // the cut one still routes with 20 %, so the step waits for it by name.
      held = await follow(
        (s) =>
          s.canaryWeight === 50 &&
          (s.message ?? "").includes(`not connected (pods running`) &&
          (s.message ?? "").includes(`${loadgen.name}.${ns()}`),
        90_000,
      );
      const rest = 60_000 - (Date.now() - cutAt);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      const during = await status();
      assert.equal(
        during.verifiedWeight,
        20,
        `confirmed without the cut proxy: ${JSON.stringify(during)}`,
      );
      assert.equal(during.phase, "Progressing", JSON.stringify(during));
      process.stdout.write(`      after 60 s cut off: ${during.message ?? ""}\n`);
    } finally {
      await cut.stop();
    }
    const after = await follow((s) => s.phase === "Succeeded" || s.phase === "Failed", 240_000);
    const seen = [...first, ...held, ...after];
    assert.equal(seen.at(-1)?.phase, "Succeeded", show(seen));
    assert.deepEqual(
      runs(seen.map((s) => s.verifiedWeight ?? 0)),
      [0, 20, 50, 100, 0],
      `50 % confirmed only once the proxy was back: ${show(seen)}`,
    );
    await assertNoneFailed(from, "the release with a proxy cut off for 60 s");
  });

  it("gives the target back when the Rollout is deleted (revertOnDeletion)", async () => {
    const from = await mark();
    const { apps, core } = cluster();
    await custom().deleteNamespacedCustomObject({ ...rolloutApi, namespace: ns(), name: "app" });
    const gone = async (read: () => Promise<unknown>): Promise<boolean> =>
      read().then(
        () => false,
        (err: unknown) => (err as { code?: number }).code === 404,
      );
    // The primary goes only once the target serves: whenever it is seen gone, the target is ready.
    await eventually(
      "the Rollout to be reverted and deleted",
      async () => {
        const primaryGone = await gone(() =>
          apps.readNamespacedDeployment({ namespace: ns(), name: "app-primary" }),
        );
        if (primaryGone) {
          const t = await apps.readNamespacedDeployment({ namespace: ns(), name: "app" });
          assert.ok(
            (t.status?.readyReplicas ?? 0) >= 1,
            "primary deleted before the target was ready",
          );
        }
        const rolloutGone = await gone(() => rollout());
        return primaryGone && rolloutGone ? true : undefined;
      },
      180_000,
      200,
    );
    const target = await apps.readNamespacedDeployment({ namespace: ns(), name: "app" });
    assert.equal(target.spec?.replicas, 1, "scaled back to its replicas");
    assert.equal(target.status?.readyReplicas, 1);
    for (const name of ["app-primary", "app-canary"]) {
      assert.ok(
        await gone(() => core.readNamespacedService({ namespace: ns(), name })),
        `Service ${name} deleted`,
      );
    }
    const apex = await core.readNamespacedService({ namespace: ns(), name: "app" });
    assert.deepEqual(apex.spec?.selector, { app: "app" }, "the apex selects the target's pods");
    assert.equal(apex.metadata?.labels?.["vireo.dev/rollout"], undefined);
    // Load goes on through the proxies, now to the target through the apex's own endpoints.
    await new Promise((r) => setTimeout(r, 5000));
    await assertNoneFailed(from, "the revert on deletion");
  });
});
