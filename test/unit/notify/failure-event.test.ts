import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import type { RolloutWire } from "../../../src/api/rollout-wire.js";
import { systemClock } from "../../../src/common/clock.js";
import type { RolloutEventRecorder } from "../../../src/kube/rollout-events.js";
import { RolloutStore } from "../../../src/kube/rollout-store.js";
import { recordNotificationFailure } from "../../../src/notify/failure-event.js";
import type { DeliveryFailure } from "../../../src/notify/dispatcher.js";
import type { LoopbackApiServer } from "../kube/loopback-apiserver.js";
import { json, resetConnection, startLoopbackApiServer } from "../kube/loopback-apiserver.js";
import { recordingLog } from "../kube/recording-log.js";

const failure: DeliveryFailure = {
  id: "n1",
  destination: "slack #releases",
  provider: "slack",
  rollout: { namespace: "demo", name: "web" },
  event: "Promoted",
  attempts: 3,
  reason: "HTTP 503",
};

const rollout = {
  apiVersion: "vireo.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "web", namespace: "demo", uid: "u1" },
};

function recorder(): RolloutEventRecorder & { recorded: string[] } {
  const recorded: string[] = [];
  return {
    recorded,
    record: (r: RolloutWire, type, reason, message) => {
      recorded.push(`${r.metadata.name ?? ""} ${type} ${reason}: ${message}`);
      return Promise.resolve();
    },
  };
}

describe("recordNotificationFailure", () => {
  let server: LoopbackApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("survives ECONNRESET on the Rollout's GET (the crash seen with 200 deletions) and records the Event", async () => {
    let gets = 0;
    server = await startLoopbackApiServer((req, res) => {
      gets++;
      if (gets <= 2) resetConnection(req);
      else json(res, 200, rollout);
    });
    const events = recorder();
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: new RolloutStore(server.kc.makeApiClient(CustomObjectsApi)),
      events,
      clock: systemClock,
      log: recordingLog(),
      failures: { inc: (l) => counted.push(`${l.operation}:${l.outcome}`) },
      policy: { attempts: 5, initialDelayMs: 5, maxDelayMs: 20 },
    });
    assert.deepEqual(events.recorded, [
      "web Warning NotificationFailed: slack #releases: HTTP 503",
    ]);
    assert.deepEqual(counted, ["get rollout demo/web:retried", "get rollout demo/web:retried"]);
    assert.deepEqual(server.requests, [
      "GET /apis/vireo.dev/v1alpha1/namespaces/demo/rollouts/web",
      "GET /apis/vireo.dev/v1alpha1/namespaces/demo/rollouts/web",
      "GET /apis/vireo.dev/v1alpha1/namespaces/demo/rollouts/web",
    ]);
  });

  it("records nothing for a Rollout already deleted (404), without retrying", async () => {
    server = await startLoopbackApiServer((_req, res) => {
      json(res, 404, { kind: "Status", reason: "NotFound", code: 404 });
    });
    const events = recorder();
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: new RolloutStore(server.kc.makeApiClient(CustomObjectsApi)),
      events,
      clock: systemClock,
      log: recordingLog(),
      failures: { inc: (l) => counted.push(l.outcome) },
      policy: { attempts: 5, initialDelayMs: 5, maxDelayMs: 20 },
    });
    assert.deepEqual(events.recorded, []);
    assert.deepEqual(counted, []);
    assert.equal(server.requests.length, 1);
  });

  it("gives up with an error line when the API server never answers, and resolves", async () => {
    server = await startLoopbackApiServer((req) => {
      resetConnection(req);
    });
    const events = recorder();
    const log = recordingLog();
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: new RolloutStore(server.kc.makeApiClient(CustomObjectsApi)),
      events,
      clock: systemClock,
      log,
      failures: { inc: (l) => counted.push(l.outcome) },
      policy: { attempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
    });
    assert.deepEqual(events.recorded, []);
    assert.deepEqual(counted, ["retried", "retried", "gave_up"]);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "error").map((l) => l.message),
      ["Kubernetes API call failed, giving up"],
    );
  });
});
