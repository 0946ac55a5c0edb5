// Analysis gates on the local cluster: real proxies in front of each version, the shared
// Prometheus scraping them, the controller judging the canary from what it measured. A healthy
// canary passes both built-in checks and is promoted; a slow canary fails request-duration, a
// canary failing 20 % of its requests fails request-success-rate, and without a reachable
// Prometheus the checks report errors. Each of those is rolled back, never promoted, and the values
// (or errors) that decided it are in the status, in Events, in the notification and in `vireo
// status`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { Receiver } from "../support/http-receiver.js";
import { freePort } from "../support/prometheus.js";
import { ensureCrd } from "./crds.js";
import {
  cluster,
  clusterDir,
  controllerConfig,
  eventually,
  prometheusURL,
  recordUntil,
  repoRoot,
  rolloutStatus,
  useNamespace,
} from "./harness.js";
import { curlLoad, echoApp, GATEWAY } from "./mesh-pods.js";

const KUBECTL = process.env.VIREO_KUBECTL ?? "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const rolloutApi = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };
const THRESHOLD = 2;

interface Check {
  name: string;
  kind: string;
  outcome: string;
  value?: number;
  unit?: string;
  threshold: { min?: number; max?: number };
  message: string;
  measuredAt: string;
}

interface Status {
  phase?: string;
  canaryWeight?: number;
  verifiedWeight?: number;
  failedChecks?: number;
  message?: string;
  checks?: Check[];
}

interface AlertBody {
  event: string;
  checks?: { name: string; outcome: string; message: string; value?: number }[];
}

/**
 * One namespace with an echo app behind a sidecar, a load generator sending through its own
 * sidecar, a Rollout with both built-in checks, an AlertProvider posting to a local receiver, and
 * a controller for this namespace only, reading metrics from `prometheus`.
 */
function releaseBench(label: string, prometheus: () => Promise<string>) {
  const ns = useNamespace(label);
  let running: RunningController | undefined;
  let receiver: Receiver | undefined;
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);

  before(async function () {
    this.timeout(180_000);
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    await ensureCrd(join(repoRoot, "crds/alertproviders.vireo.dev.yaml"));
    receiver = await Receiver.start();
    await custom().createNamespacedCustomObject({
      group: "vireo.dev",
      version: "v1alpha1",
      plural: "alertproviders",
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "AlertProvider",
        metadata: { name: "team" },
        spec: { type: "webhook", address: receiver.url("/alerts") },
      },
    });
    running = await startController(
      controllerConfig(ns(), {
        xdsHost: GATEWAY,
        prometheusUrl: await prometheus(),
      }),
      () => undefined,
    );
    const xds = `${GATEWAY}:${running.xdsPort}`;
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
          progressDeadlineSeconds: 120,
          alerts: [{ name: "team", severity: "info", providerRef: { name: "team" } }],
          strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: "10s" } }] } },
          analysis: {
            interval: "5s",
            threshold: THRESHOLD,
            minRequests: 5,
            metrics: [
              { name: "request-success-rate", thresholdRange: { min: 95 } },
              { name: "request-duration", thresholdRange: { max: 200 } },
            ],
          },
        },
      },
    });
    // Steady load through a proxy, as an application with HTTP_PROXY would send it; several
    // requests at once so that a slow canary does not starve the primary of traffic.
    const url = `http://app.${ns()}:80/`;
    await apps.createNamespacedDeployment({ namespace: ns(), body: curlLoad(xds, url, 2) });
    await follow((s) => s.phase === "Initialized", 120_000);
  });

  after(async () => {
    await running?.stop();
    await receiver?.close();
  });

  const status = (): Promise<Status> => rolloutStatus<Status>(ns(), "app");

  function follow(done: (s: Status) => boolean, timeoutMs: number): Promise<Status[]> {
    const key = (x: Status | undefined): string =>
      JSON.stringify([x?.phase, x?.verifiedWeight, x?.failedChecks, x?.checks]);
    return recordUntil("the release to get there", status, key, done, timeoutMs, 250);
  }

  async function release(args: string[]): Promise<void> {
    await cluster().apps.patchNamespacedDeployment(
      {
        namespace: ns(),
        name: "app",
        body: {
          spec: {
            template: { spec: { containers: [{ name: "app", image: "vireo/echo:v1", args }] } },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  /** Releases `args` and waits until it ends; it must end Failed (rolled back). */
  async function rolledBack(args: string[]): Promise<{ last: Status; seen: Status[] }> {
    await release(args);
    await follow((s) => s.phase === "Progressing", 30_000);
    const seen = await follow((s) => s.phase === "Failed" || s.phase === "Succeeded", 180_000);
    const last = seen.at(-1) ?? {};
    const story = seen.map((s) => [s.phase, s.verifiedWeight, s.failedChecks, s.message]);
    assert.equal(last.phase, "Failed", JSON.stringify(story));
    // Rolled back means weight 0 confirmed by every proxy, not only asked for.
    const settled = await follow((s) => s.verifiedWeight === 0, 60_000);
    return { last: settled.at(-1) ?? last, seen };
  }

  async function events(reason: string): Promise<CoreV1Event[]> {
    const list = await cluster().core.listNamespacedEvent({
      namespace: ns(),
      fieldSelector: `involvedObject.name=app,reason=${reason}`,
    });
    return list.items;
  }

  function alerts(): AlertBody[] {
    return (receiver?.bodies ?? []) as AlertBody[];
  }

  async function rollbackAlert(): Promise<AlertBody> {
    return eventually("the rollback notification", () =>
      alerts().find((b) => b.event === "rolledBack"),
    );
  }

  /** The primary still runs the version it ran before the release. */
  async function primaryArgs(): Promise<string[] | undefined> {
    const primary = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "app-primary",
    });
    return primary.spec?.template.spec?.containers.find((c) => c.name === "app")?.args;
  }

  /** What `kubectl get rollout app -o yaml` shows of the status, printed for the record. */
  async function printStatus(title: string): Promise<string> {
    const { stdout } = await promisify(execFile)(KUBECTL, [
      "--kubeconfig",
      join(clusterDir, "kubeconfig"),
      "get",
      "rollout",
      "app",
      "-n",
      ns(),
      "-o",
      "yaml",
    ]);
    const from = stdout.indexOf("\nstatus:");
    const excerpt = from < 0 ? stdout : stdout.slice(from + 1);
    const shown = excerpt.replace(/^ {2}notified:\n(?: {2}- .*\n)*/m, "  notified: [...]\n");
    process.stdout.write(`      ${title}: kubectl get rollout app -o yaml (status)\n`);
    process.stdout.write(shown.replace(/^/gm, "        ") + "\n");
    return stdout;
  }

  /** What `vireo status app` prints, printed for the record too. */
  async function vireoStatus(): Promise<string> {
    const { stdout } = await promisify(execFile)(process.execPath, [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/main.ts"),
      "status",
      "app",
      "-n",
      ns(),
      "--kubeconfig",
      join(clusterDir, "kubeconfig"),
    ]);
    process.stdout.write(`      vireo status app\n${stdout.replace(/^/gm, "        ")}\n`);
    return stdout;
  }

  /** Clears what the previous test received, so each test sees its own notification. */
  function forgetAlerts(): void {
    receiver?.requests.splice(0);
  }

  return {
    ns,
    status,
    follow,
    release,
    rolledBack,
    events,
    alerts,
    rollbackAlert,
    primaryArgs,
    printStatus,
    vireoStatus,
    forgetAlerts,
  };
}

function check(s: Status, name: string): Check {
  const c = s.checks?.find((x) => x.name === name);
  assert.ok(c !== undefined, `status.checks has no ${name}: ${JSON.stringify(s.checks)}`);
  return c;
}

describe("analysis gates with Prometheus scraping the proxies", function () {
  this.timeout(300_000);
  const bench = releaseBench("gates", () => Promise.resolve(prometheusURL));

  it("promotes a healthy canary whose every check passes, with the values in the status", async () => {
    await bench.release(["--version=v2"]);
    await bench.follow((s) => s.phase === "Progressing", 30_000);
    const seen = await bench.follow(
      (s) => s.phase === "Succeeded" || s.phase === "Failed",
      180_000,
    );
    const last = seen.at(-1) ?? {};
    const story = seen.map((s) => [s.phase, s.verifiedWeight, s.failedChecks, s.message]);
    assert.equal(last.phase, "Succeeded", JSON.stringify(story));
    assert.equal(last.failedChecks, 0);
    const success = check(last, "request-success-rate");
    assert.equal(success.outcome, "pass", JSON.stringify(success));
    assert.equal(success.value, 100);
    const duration = check(last, "request-duration");
    assert.equal(duration.outcome, "pass", JSON.stringify(duration));
    assert.ok((duration.value ?? 1000) < 200, `p99 ${String(duration.value)} ms`);
    assert.deepEqual(await bench.primaryArgs(), ["--version=v2"]);
    process.stdout.write(`      promoted; last checks: ${success.message}; ${duration.message}\n`);
  });

  it("rolls back a canary 300 ms slower on request-duration, showing its p99", async () => {
    bench.forgetAlerts();
    const earlier = new Set((await bench.events("AnalysisFailed")).map((e) => e.metadata?.name));
    const { last } = await bench.rolledBack(["--version=v3-slow", "--delay-ms=300"]);
    assert.equal(last.failedChecks, THRESHOLD);
    const duration = check(last, "request-duration");
    assert.equal(duration.outcome, "fail", JSON.stringify(duration));
    assert.ok((duration.value ?? 0) > 300, `p99 ${String(duration.value)} ms`);
    assert.equal(duration.unit, "ms");
    assert.deepEqual(duration.threshold, { max: 200 });
    assert.match(duration.message, /^request-duration \d+(\.\d+)? ms > 200 ms$/);
    assert.ok(!Number.isNaN(Date.parse(duration.measuredAt)));
    // The success rate was measured too and passed: only latency failed this canary.
    const success = check(last, "request-success-rate");
    assert.equal(success.outcome, "pass", JSON.stringify(success));
    assert.equal(success.value, 100);

    const failedAnalyses = (await bench.events("AnalysisFailed"))
      .filter((e) => !earlier.has(e.metadata?.name))
      .map((e) => e.message ?? "");
    assert.equal(failedAnalyses.length, THRESHOLD, "one Event per failed analysis");
    for (const m of failedAnalyses) assert.match(m, /request-duration/);
    const showsP99 = /request-duration \d+(\.\d+)? ms > 200 ms/;
    assert.ok(
      failedAnalyses.some((m) => showsP99.test(m)),
      failedAnalyses.join("\n"),
    );
    const rollbacks = (await bench.events("RolledBack")).map((e) => e.message ?? "");
    assert.equal(rollbacks.length, 1, rollbacks.join("\n"));
    assert.match(rollbacks[0] ?? "", /request-duration \d+.* ms > 200 ms/);

    const alert = await bench.rollbackAlert();
    const failed = alert.checks?.find((c) => c.name === "request-duration");
    assert.equal(failed?.outcome, "fail", JSON.stringify(alert));
    assert.equal(failed.value, duration.value);
    assert.deepEqual(await bench.primaryArgs(), ["--version=v2"]);
    await bench.printStatus("slow canary rolled back");
    const cli = await bench.vireoStatus();
    const row = new RegExp(
      `^ +request-duration +FAIL +${String(duration.value)} ms +<= 200 ms +\\S+ ago +request-duration ${String(duration.value)} ms > 200 ms$`,
      "m",
    );
    assert.match(cli, row);
  });

  it("rolls back a canary failing 20 % of requests after threshold failed checks", async () => {
    bench.forgetAlerts();
    const { last, seen } = await bench.rolledBack(["--version=v4-faulty", "--fail-percent=20"]);
    // Counted one by one up to the threshold, and not beyond.
    const counts = [...new Set(seen.map((s) => s.failedChecks ?? 0))];
    assert.deepEqual(counts.slice(-THRESHOLD), [1, 2], JSON.stringify(counts));
    assert.equal(last.failedChecks, THRESHOLD);
    const success = check(last, "request-success-rate");
    assert.equal(success.outcome, "fail", JSON.stringify(success));
    assert.ok(
      (success.value ?? 100) < 95 && (success.value ?? 0) > 50,
      `success rate ${String(success.value)} %`,
    );
    assert.equal(success.unit, "%");
    assert.match(success.message, /^request-success-rate \d+(\.\d+)? % < 95 %$/);
    const alert = await bench.rollbackAlert();
    assert.equal(alert.checks?.find((c) => c.name === "request-success-rate")?.outcome, "fail");
    assert.deepEqual(await bench.primaryArgs(), ["--version=v2"]);
    await bench.printStatus("20 % errors rolled back");
  });
});

describe("analysis gates without a reachable Prometheus", function () {
  this.timeout(300_000);
  // A loopback port nothing listens on: every query is refused, as by a Prometheus that is down.
  let refused = "";
  const bench = releaseBench("gates-noprom", async () => {
    refused = `http://127.0.0.1:${await freePort()}`;
    return refused;
  });

  it("reports each check as an error and rolls back instead of promoting", async () => {
    const { last } = await bench.rolledBack(["--version=v2"]);
    assert.equal(last.failedChecks, THRESHOLD);
    for (const name of ["request-success-rate", "request-duration"]) {
      const c = check(last, name);
      assert.equal(c.outcome, "error", JSON.stringify(c));
      assert.equal(c.value, undefined);
      assert.ok(c.message.includes(`Prometheus ${refused}`), c.message);
      assert.match(c.message, /ECONNREFUSED|refused/i);
    }
    const failedAnalyses = await bench.events("AnalysisFailed");
    assert.equal(failedAnalyses.length, THRESHOLD);
    for (const e of failedAnalyses) assert.match(e.message ?? "", /: error \(/);
    assert.equal((await bench.events("Succeeded")).length, 0, "never promoted");
    assert.deepEqual(await bench.primaryArgs(), ["--version=v1"]);
    const alert = await bench.rollbackAlert();
    assert.equal(
      alert.checks?.every((c) => c.outcome === "error"),
      true,
      JSON.stringify(alert),
    );
    await bench.printStatus("Prometheus unreachable, rolled back");
    assert.match(
      await bench.vireoStatus(),
      /^ +request-duration +ERROR +- +<= 200 ms .*ECONNREFUSED/m,
    );
  });
});
