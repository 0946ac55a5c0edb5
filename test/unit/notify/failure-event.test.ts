// recordNotificationFailure with in-memory fakes of its ports (the Rollout store and the Event
// recorder). The same paths against the real API server, with connections reset by our fault
// injector, are in test/integration/notify-failure-event.test.ts.
import assert from "node:assert/strict";
import type { RolloutWire } from "../../../src/api/rollout-wire.js";
import { systemClock } from "../../../src/common/clock.js";
import type { RolloutEventRecorder } from "../../../src/kube/rollout-events.js";
import type { DeliveryFailure } from "../../../src/notify/dispatcher.js";
import { recordNotificationFailure } from "../../../src/notify/failure-event.js";
import { recordingLog } from "../../support/recording-log.js";

const failure: DeliveryFailure = {
  id: "n1",
  destination: "slack #releases",
  provider: "slack",
  rollout: { namespace: "demo", name: "web" },
  event: "Promoted",
  attempts: 3,
  reason: "HTTP 503",
};

const rollout: RolloutWire = {
  apiVersion: "vireo.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "web", namespace: "demo", uid: "u1" },
  spec: {
    targetRef: { kind: "Deployment", name: "web" },
    service: { port: 80 },
    strategy: { canary: { steps: [{ setWeight: 10 }] } },
  },
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

/** A store whose first `failing` reads reject, then answer `found`. */
function store(failing: number, found: RolloutWire | undefined) {
  const reads: string[] = [];
  return {
    reads,
    get: (namespace: string, name: string): Promise<RolloutWire | undefined> => {
      reads.push(`${namespace}/${name}`);
      return reads.length <= failing
        ? Promise.reject(new Error("read ECONNRESET"))
        : Promise.resolve(found);
    },
  };
}

const policy = (attempts: number) => ({ attempts, initialDelayMs: 1, maxDelayMs: 2 });

describe("recordNotificationFailure", () => {
  it("survives failed reads of the Rollout and records the Event", async () => {
    const events = recorder();
    const s = store(2, rollout);
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: s,
      events,
      clock: systemClock,
      log: recordingLog(),
      failures: { inc: (l) => counted.push(`${l.operation}:${l.outcome}`) },
      policy: policy(5),
    });
    assert.deepEqual(events.recorded, [
      "web Warning NotificationFailed: slack #releases: HTTP 503",
    ]);
    assert.deepEqual(counted, ["get rollout demo/web:retried", "get rollout demo/web:retried"]);
    assert.deepEqual(s.reads, ["demo/web", "demo/web", "demo/web"]);
  });

  it("records nothing for a Rollout already deleted, without retrying", async () => {
    const events = recorder();
    const s = store(0, undefined);
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: s,
      events,
      clock: systemClock,
      log: recordingLog(),
      failures: { inc: (l) => counted.push(l.outcome) },
      policy: policy(5),
    });
    assert.deepEqual(events.recorded, []);
    assert.deepEqual(counted, []);
    assert.equal(s.reads.length, 1);
  });

  it("gives up with an error line when every read fails, and resolves", async () => {
    const events = recorder();
    const log = recordingLog();
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: store(Infinity, rollout),
      events,
      clock: systemClock,
      log,
      failures: { inc: (l) => counted.push(l.outcome) },
      policy: policy(3),
    });
    assert.deepEqual(events.recorded, []);
    assert.deepEqual(counted, ["retried", "retried", "gave_up"]);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "error").map((l) => l.message),
      ["Kubernetes API call failed, giving up"],
    );
  });

  it("counts and logs a recorder that rejects, and still resolves", async () => {
    const log = recordingLog();
    const counted: string[] = [];
    await recordNotificationFailure(failure, {
      store: store(0, rollout),
      events: { record: () => Promise.reject(new Error("events forbidden")) },
      clock: systemClock,
      log,
      failures: { inc: (l) => counted.push(`${l.operation}:${l.outcome}`) },
      policy: policy(3),
    });
    assert.deepEqual(counted, ["create event:gave_up"]);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "error").map((l) => l.message),
      ["event not recorded"],
    );
  });
});
