// A notification given up becomes a Warning Event on its Rollout, recorded in the real API server;
// the Rollout's GET goes through our fault injector, which resets connections as the API server
// did while 200 Rollouts were being deleted (the crash issue 17 reports).
import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import { KubeRolloutEvents } from "../../src/kube/rollout-events.js";
import { RolloutStore } from "../../src/kube/rollout-store.js";
import type { DeliveryFailure } from "../../src/notify/dispatcher.js";
import { recordNotificationFailure } from "../../src/notify/failure-event.js";
import { recordingLog } from "../support/recording-log.js";
import type { ApiFaultProxy } from "./api-fault-proxy.js";
import { lines, useApiFaultProxy } from "./api-fault-proxy.js";
import { minimalRollout } from "./crds.js";
import { cluster, useNamespace } from "./harness.js";

describe("recordNotificationFailure against the real API server, faults injected", function () {
  this.timeout(60_000);
  const ns = useNamespace("failure-event");
  const faultProxy = useApiFaultProxy();

  before(async () => {
    await minimalRollout(ns(), "web");
  });

  const failure = (name: string): DeliveryFailure => ({
    id: `n-${name}`,
    destination: "slack #releases",
    provider: "slack",
    rollout: { namespace: ns(), name },
    event: "Promoted",
    attempts: 3,
    reason: `HTTP 503 for ${name}`,
  });

  /** The Warning Events recorded on Rollout `name`, as "reason: message". */
  async function events(name: string): Promise<string[]> {
    const list = await cluster().core.listNamespacedEvent({
      namespace: ns(),
      fieldSelector: `involvedObject.name=${name}`,
    });
    return list.items.map((e) => `${e.type ?? ""} ${e.reason ?? ""}: ${e.message ?? ""}`);
  }

  const deps = (p: ApiFaultProxy, attempts: number, counted: string[]) => ({
    store: new RolloutStore(p.kc.makeApiClient(CustomObjectsApi)),
    // Events go straight to the API server: only the Rollout's GET meets the faults.
    events: new KubeRolloutEvents(cluster().core, recordingLog(), "it"),
    clock: systemClock,
    failures: {
      inc: (l: { operation: string; outcome: string }) =>
        counted.push(`${l.operation}:${l.outcome}`),
    },
    policy: { attempts, initialDelayMs: 5, maxDelayMs: 20 },
  });

  it("survives ECONNRESET on the Rollout's GET and records the Event on the real Rollout", async () => {
    const p = faultProxy();
    p.fault = (_r, n) => (n <= 2 ? { kind: "reset" } : undefined);
    const counted: string[] = [];
    await recordNotificationFailure(failure("web"), {
      ...deps(p, 5, counted),
      log: recordingLog(),
    });
    assert.deepEqual(await events("web"), [
      "Warning NotificationFailed: slack #releases: HTTP 503 for web",
    ]);
    const op = `get rollout ${ns()}/web`;
    assert.deepEqual(counted, [`${op}:retried`, `${op}:retried`]);
    const path = `/apis/vireo.dev/v1alpha1/namespaces/${ns()}/rollouts/web`;
    assert.deepEqual(lines(p), [`GET ${path}`, `GET ${path}`, `GET ${path}`]);
  });

  it("records nothing for a Rollout already deleted (the real 404), without retrying", async () => {
    const p = faultProxy();
    const counted: string[] = [];
    await recordNotificationFailure(failure("gone"), {
      ...deps(p, 5, counted),
      log: recordingLog(),
    });
    assert.deepEqual(await events("gone"), []);
    assert.deepEqual(counted, []);
    assert.equal(p.requests.length, 1);
  });

  it("gives up with an error line when the API server never answers, and resolves", async () => {
    const p = faultProxy();
    p.fault = () => ({ kind: "reset" });
    const counted: string[] = [];
    const log = recordingLog();
    const f = { ...failure("web"), reason: "HTTP 503, given up" };
    await recordNotificationFailure(f, { ...deps(p, 3, counted), log });
    assert.ok(!(await events("web")).some((e) => e.endsWith("given up")));
    const op = `get rollout ${ns()}/web`;
    assert.deepEqual(counted, [`${op}:retried`, `${op}:retried`, `${op}:gave_up`]);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "error").map((l) => l.message),
      ["Kubernetes API call failed, giving up"],
    );
  });
});
