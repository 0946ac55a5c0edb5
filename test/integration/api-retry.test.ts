// retryApi against the real kube-apiserver, with faults injected by our proxy in front of it: a
// reset connection, an API server answering 500, and a stop while backing off.
import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import type { FailureCounter } from "../../src/kube/api-retry.js";
import { retryApi } from "../../src/kube/api-retry.js";
import { ControllerMetrics } from "../../src/observability/metrics.js";
import { recordingLog } from "../support/recording-log.js";
import type { ApiFaultProxy } from "./api-fault-proxy.js";
import { lines, useApiFaultProxy } from "./api-fault-proxy.js";
import { minimalRollout } from "./crds.js";
import { useNamespace } from "./harness.js";

const FAST = { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 };
const ROLLOUTS = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };

async function failureCount(m: ControllerMetrics, outcome: string): Promise<number> {
  const got = await m.kubeApiFailures.get();
  return got.values
    .filter((v) => v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);
}

describe("retryApi against the real API server, faults injected in front of it", function () {
  this.timeout(60_000);
  const ns = useNamespace("api-retry");
  const faultProxy = useApiFaultProxy();

  before(async () => {
    await minimalRollout(ns(), "web");
  });

  const get = (p: ApiFaultProxy) => (): Promise<{ metadata: { name: string } }> =>
    p.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns(),
      name: "web",
    }) as Promise<{ metadata: { name: string } }>;

  it("retries a GET whose connection is reset, then returns the real object; each failure counted", async () => {
    const p = faultProxy();
    p.fault = (_r, n) => (n <= 2 ? { kind: "reset" } : undefined);
    const metrics = new ControllerMetrics();
    const log = recordingLog();
    const got = await retryApi(
      `get rollout ${ns()}/web`,
      get(p),
      { clock: systemClock, log, failures: metrics.kubeApiFailures },
      FAST,
    );
    assert.equal(got.ok, true);
    assert.equal(got.ok && got.value.metadata.name, "web");
    const path = `/apis/vireo.dev/v1alpha1/namespaces/${ns()}/rollouts/web`;
    assert.deepEqual(lines(p), [`GET ${path}`, `GET ${path}`, `GET ${path}`]);
    assert.equal(await failureCount(metrics, "retried"), 2);
    assert.equal(await failureCount(metrics, "gave_up"), 0);
    const warns = log.lines.filter((l) => l.level === "warn");
    assert.equal(warns.length, 2);
    assert.equal(warns[0]?.fields.operation, `get rollout ${ns()}/web`);
    assert.deepEqual(
      warns.map((w) => w.fields.retryInMs),
      [5, 10],
    );
  });

  it("gives up after the attempts with an error line and resolves (never rejects)", async () => {
    const p = faultProxy();
    p.fault = () => ({ kind: "status", code: 500, message: "etcdserver: leader changed" });
    const counted: string[] = [];
    const failures: FailureCounter = { inc: (l) => counted.push(l.outcome) };
    const log = recordingLog();
    const got = await retryApi(
      "list rollouts",
      () =>
        p.kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
          ...ROLLOUTS,
          namespace: ns(),
        }),
      { clock: systemClock, log, failures },
      FAST,
    );
    assert.equal(got.ok, false);
    assert.equal(p.requests.length, 4);
    assert.deepEqual(counted, ["retried", "retried", "retried", "gave_up"]);
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.fields.attempts, 4);
    assert.match(String(errors[0]?.fields.error), /500|leader changed/);
  });

  it("stops retrying when its signal aborts (the controller is stopping)", async () => {
    const p = faultProxy();
    p.fault = () => ({ kind: "reset" });
    const stop = new AbortController();
    const counted: string[] = [];
    const pending = retryApi(
      `get rollout ${ns()}/web`,
      get(p),
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
    assert.equal(p.requests.length, 1);
  });
});
