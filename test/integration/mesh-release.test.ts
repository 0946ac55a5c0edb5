// Whole releases through vireo's own mesh on the local cluster: pods with proxy sidecars
// programmed by the controller's control plane, load through the proxies, success rate measured
// by Prometheus from the proxies' metrics. A healthy version is promoted; a faulty one rolls back.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { Receiver } from "../support/http-receiver.js";
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
  rolloutStatus,
  useNamespace,
} from "./harness.js";
import { curlLoad, echoApp, failedRequests, GATEWAY } from "./mesh-pods.js";

interface Status {
  phase?: string;
  canaryWeight?: number;
  verifiedWeight?: number;
  failedChecks?: number;
  message?: string;
}

const rolloutApi = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };

describe("releases through vireo's mesh on the local cluster", function () {
  this.timeout(300_000);
  const ns = useNamespace("mesh");
  let running: RunningController | undefined;
  let receiver: Receiver;
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);

  /** The events of the webhook messages received so far, in order. */
  const alerts = (): string[] => receiver.bodies.map((b) => (b as { event: string }).event);

  const status = (): Promise<Status> => rolloutStatus<Status>(ns(), "app");

  function follow(done: (s: Status) => boolean, timeoutMs: number): Promise<Status[]> {
    const key = (x: Status | undefined): string =>
      JSON.stringify([x?.phase, x?.canaryWeight, x?.verifiedWeight, x?.failedChecks]);
    return recordUntil("the release to finish", status, key, done, timeoutMs, 250);
  }

  /** What the load generator's curl loop printed: one HTTP status per request. */
  async function loadgenLog(): Promise<string> {
    const pods = await cluster().core.listNamespacedPod({
      namespace: ns(),
      labelSelector: "app=loadgen",
    });
    const name = pods.items[0]?.metadata?.name ?? "";
    return readFile(podLogPath(ns(), name, "load"), "utf8").catch(() => "");
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

  before(async () => {
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
      // The xDS port authenticates the sidecars; the mesh between them is mutual TLS.
      controllerConfig(ns(), { xdsHost: GATEWAY, prometheusUrl: prometheusURL }),
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
          strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: "6s" } }] } },
          analysis: {
            interval: "5s",
            threshold: 2,
            minRequests: 5,
            metrics: [{ name: "request-success-rate", thresholdRange: { min: 90 } }],
          },
        },
      },
    });
    // Steady load through a proxy, as an application with HTTP_PROXY would send it.
    const url = `http://app.${ns()}:80/`;
    await apps.createNamespacedDeployment({ namespace: ns(), body: curlLoad(xds, url) });
    await follow((s) => s.phase === "Initialized", 90_000);
  });

  after(async () => {
    await running?.stop();
    await receiver.close();
  });

  it("promotes a healthy version after the proxies confirm 50 % and Prometheus sees it succeed", async () => {
    const before = (await loadgenLog()).length;
    await release(["--version=v2"]);
    await follow((s) => s.phase === "Progressing", 30_000);
    const seen = await follow((s) => s.phase === "Succeeded" || s.phase === "Failed", 150_000);
    const last = seen.at(-1);
    assert.equal(
      last?.phase,
      "Succeeded",
      JSON.stringify(
        seen.map((s) => [s.phase, s.canaryWeight, s.verifiedWeight, s.failedChecks, s.message]),
      ),
    );
    assert.ok(
      seen.some((s) => s.verifiedWeight === 50),
      "every proxy confirmed 50 %",
    );
    // Every request the load generator sent through its proxy during the release succeeded:
    // the switches to 50 % and back to the promoted primary lost none.
    const codes = (await loadgenLog())
      .slice(before)
      .split("\n")
      .filter((l) => l !== "");
    assert.ok(codes.length > 50, `only ${codes.length} requests during the release`);
    const failed = failedRequests(codes);
    assert.deepEqual(failed, [], `${failed.length} of ${codes.length} requests failed`);
    process.stdout.write(
      `      ${codes.length} requests through the proxies during the release, all 200\n`,
    );
    await eventually("the promotion message", () =>
      alerts().includes("promoted") ? true : undefined,
    );
    assert.deepEqual(
      alerts().filter((e) => e === "started" || e === "promoted"),
      ["started", "promoted"],
      `messages: ${alerts().join(", ")}`,
    );
    // The canary's own proxy reported requests that came over mutual TLS, and Prometheus has
    // them. The canary is scaled down by now and its series ended (stale), so read the last
    // values of the past minutes.
    const q = encodeURIComponent(
      `sum(max_over_time(vireo_requests_total{reporter="destination",destination_workload_namespace="${ns()}",destination_workload="app",connection_security_policy="mutual_tls"}[5m]))`,
    );
    const res = (await (await fetch(`${prometheusURL}/api/v1/query?query=${q}`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    assert.ok(Number(res.data.result[0]?.value[1] ?? 0) > 10, JSON.stringify(res));
  });

  it("rolls back a version that fails half its requests", async () => {
    await release(["--version=v3", "--fail-percent=60"]);
    await follow((s) => s.phase === "Progressing", 30_000);
    const seen = await follow((s) => s.phase === "Failed" || s.phase === "Succeeded", 150_000);
    const last = seen.at(-1);
    assert.equal(
      last?.phase,
      "Failed",
      JSON.stringify(
        seen.map((s) => [s.phase, s.canaryWeight, s.verifiedWeight, s.failedChecks, s.message]),
      ),
    );
    assert.ok((last?.failedChecks ?? 0) >= 2);
    await eventually("the rollback message", () =>
      alerts().includes("rolledBack") ? true : undefined,
    );
    assert.equal(
      alerts().filter((e) => e === "rolledBack").length,
      1,
      `messages: ${alerts().join(", ")}`,
    );
    process.stdout.write(`      messages received: ${alerts().join(", ")}\n`);
    const primary = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "app-primary",
    });
    assert.deepEqual(primary.spec?.template.spec?.containers.find((c) => c.name === "app")?.args, [
      "--version=v2",
    ]);
  });

  it("never promotes while Prometheus is frozen mid-release: the checks say error, with the cause", async () => {
    await release(["--version=v4"]);
    await follow((s) => s.phase === "Progressing", 30_000);
    // Prometheus stops answering (SIGSTOP: its connections hang) from the release's first step
    // (before its first check) until the release has ended.
    const pid = Number((await readFile(join(clusterDir, "pids", "prometheus.pid"), "utf8")).trim());
    process.kill(pid, "SIGSTOP");
    let seen: Status[];
    try {
      seen = await follow((s) => s.phase === "Failed" || s.phase === "Succeeded", 150_000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const last = seen.at(-1);
    assert.equal(last?.phase, "Failed", JSON.stringify(seen.map((s) => [s.phase, s.message])));
    const checks =
      (
        await rolloutStatus<{ checks: { name: string; outcome: string; message: string }[] }>(
          ns(),
          "app",
        )
      ).checks ?? [];
    const rate = checks.find((c) => c.name === "request-success-rate");
    process.stdout.write(
      `      with Prometheus frozen: ${rate?.outcome ?? "-"}: ${rate?.message ?? "-"}\n`,
    );
    assert.equal(rate?.outcome, "error", JSON.stringify(checks));
    assert.match(rate?.message ?? "", /Prometheus http:\/\/\S+: no answer within \d+ ms/);
    const primary = await cluster().apps.readNamespacedDeployment({
      namespace: ns(),
      name: "app-primary",
    });
    assert.deepEqual(
      primary.spec?.template.spec?.containers.find((c) => c.name === "app")?.args,
      ["--version=v2"],
      "never promoted",
    );
  });
});
