import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { systemClock } from "../../../src/common/clock.js";
import type { FailureCounter } from "../../../src/kube/api-retry.js";
import { backoffDelay, retryApi } from "../../../src/kube/api-retry.js";
import { ControllerMetrics } from "../../../src/observability/metrics.js";
import type { LoopbackApiServer } from "./loopback-apiserver.js";
import { json, resetConnection, startLoopbackApiServer } from "./loopback-apiserver.js";
import { recordingLog } from "./recording-log.js";

const FAST = { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

async function failureCount(m: ControllerMetrics, outcome: string): Promise<number> {
  const got = await m.kubeApiFailures.get();
  return got.values
    .filter((v) => v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);
}

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const p = { initialDelayMs: 500, maxDelayMs: 3000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(p, n)),
      [500, 1000, 2000, 3000, 3000],
    );
  });
});

describe("retryApi against a loopback API server", () => {
  let server: LoopbackApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("retries a GET whose connection is reset, then returns the object; each failure counted", async () => {
    let calls = 0;
    server = await startLoopbackApiServer((req, res) => {
      calls++;
      if (calls <= 2) resetConnection(req);
      else
        json(res, 200, {
          apiVersion: "vireo.dev/v1alpha1",
          kind: "Rollout",
          metadata: { name: "web" },
        });
    });
    const api = server.kc.makeApiClient(CustomObjectsApi);
    const metrics = new ControllerMetrics();
    const log = recordingLog();
    const got = await retryApi(
      "get rollout demo/web",
      () =>
        api.getNamespacedCustomObject({
          group: "vireo.dev",
          version: "v1alpha1",
          plural: "rollouts",
          namespace: "demo",
          name: "web",
        }) as Promise<{ metadata: { name: string } }>,
      { clock: systemClock, log, failures: metrics.kubeApiFailures },
      FAST,
    );
    assert.equal(got.ok, true);
    assert.equal(got.ok && got.value.metadata.name, "web");
    assert.equal(calls, 3);
    assert.equal(await failureCount(metrics, "retried"), 2);
    assert.equal(await failureCount(metrics, "gave_up"), 0);
    const warns = log.lines.filter((l) => l.level === "warn");
    assert.equal(warns.length, 2);
    assert.equal(warns[0]?.fields.operation, "get rollout demo/web");
    assert.deepEqual(
      warns.map((w) => w.fields.retryInMs),
      [5, 10],
    );
  });

  it("gives up after the attempts with an error line and resolves (never rejects)", async () => {
    server = await startLoopbackApiServer((_req, res) => {
      json(res, 500, { kind: "Status", message: "etcdserver: leader changed" });
    });
    const api = server.kc.makeApiClient(CustomObjectsApi);
    const counted: string[] = [];
    const failures: FailureCounter = { inc: (l) => counted.push(l.outcome) };
    const log = recordingLog();
    const got = await retryApi(
      "list rollouts",
      () =>
        api.listClusterCustomObject({
          group: "vireo.dev",
          version: "v1alpha1",
          plural: "rollouts",
        }),
      { clock: systemClock, log, failures },
      FAST,
    );
    assert.equal(got.ok, false);
    assert.equal(server.requests.length, 4);
    assert.deepEqual(counted, ["retried", "retried", "retried", "gave_up"]);
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.fields.attempts, 4);
    assert.match(String(errors[0]?.fields.error), /500|leader changed/);
  });

  it("stops retrying when its signal aborts (the controller is stopping)", async () => {
    server = await startLoopbackApiServer((req) => {
      resetConnection(req);
    });
    const api = server.kc.makeApiClient(CustomObjectsApi);
    const stop = new AbortController();
    const counted: string[] = [];
    const pending = retryApi(
      "get rollout demo/web",
      () =>
        api.getNamespacedCustomObject({
          group: "vireo.dev",
          version: "v1alpha1",
          plural: "rollouts",
          namespace: "demo",
          name: "web",
        }),
      {
        clock: systemClock,
        log: recordingLog(),
        failures: { inc: (l) => counted.push(l.outcome) },
      },
      { attempts: 100, initialDelayMs: 60_000, maxDelayMs: 60_000 },
      stop.signal,
    );
    // The first failure puts it into a minute's back-off; aborting ends the wait at once.
    while (counted.length === 0) await new Promise((r) => setImmediate(r));
    stop.abort();
    const got = await pending;
    assert.equal(got.ok, false);
    assert.equal(server.requests.length, 1);
  });
});
