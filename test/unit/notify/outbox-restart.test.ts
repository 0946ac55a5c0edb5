// The outbox across controller restarts, with the reconciler's own steps (entryFor,
// stageNotifications, deliverOutbox), a real Dispatcher and KubeNotifier, and a local receiver:
// the status each step writes is passed on as the API server would keep it.
import assert from "node:assert/strict";
import type { RolloutWire } from "../../../src/api/rollout-wire.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import type { KubeNotifier } from "../../../src/notify/kube-notifier.js";
import { StatusSentLog } from "../../../src/notify/sent-log.js";
import {
  deliverOutbox,
  entryFor,
  stageNotifications,
} from "../../../src/reconciler/notifications.js";
import type { Harness } from "../../support/notify-fixtures.js";
import {
  dispatcherHarness,
  FakeApi,
  kubeNotifier,
  rolloutSpec,
  UID,
} from "../../support/notify-fixtures.js";
import type { Reply } from "../../support/http-receiver.js";
import { OK, Receiver } from "../../support/http-receiver.js";

const ROLLOUT: RolloutWire = {
  apiVersion: "vireo.dev/v1alpha1",
  kind: "Rollout",
  metadata: { namespace: "demo", name: "podinfo", uid: UID },
  spec: { targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" } },
} as RolloutWire;

const BEFORE: RolloutStatus = {
  phase: "Promoting",
  observedGeneration: 1,
  canaryWeight: 0,
  verifiedWeight: 0,
  currentStep: 3,
  failedChecks: 0,
  iterations: 0,
  canaryRevision: "7d9f8c6b5",
  primaryRevision: "5c4b3a291",
  message: "",
  lastTransitionTime: "2025-12-31T23:30:00Z",
  conditions: [],
};
const AFTER: RolloutStatus = {
  ...BEFORE,
  phase: "Succeeded",
  lastTransitionTime: "2026-01-01T00:00:00Z",
};
const promoted = (message: string) =>
  ({ kind: "notify", event: "promoted", severity: "info", message }) as const;
const TRANSITION_ID = `${UID}/promoted/7d9f8c6b5/2025-12-31T23:30:00Z`;

/** One controller process: its sent log, dispatcher and notifier. */
interface Controller {
  readonly sentLog: StatusSentLog;
  readonly h: Harness;
  readonly notifier: KubeNotifier;
  readonly events: string[];
}

describe("the outbox across restarts", () => {
  let receiver: Receiver;
  let api: FakeApi;
  const spec = rolloutSpec([{ name: "t", severity: "info", providerRef: { name: "hook" } }]);
  const controllers: Controller[] = [];

  async function start(replies: readonly Reply[]): Promise<void> {
    receiver = await Receiver.start(replies);
    api = new FakeApi().provider("demo", "hook", { type: "webhook", address: receiver.url() });
  }

  function controller(): Controller {
    const sentLog = new StatusSentLog();
    const h = dispatcherHarness({}, sentLog);
    const c = { sentLog, h, notifier: kubeNotifier(api, h), events: [] as string[] };
    controllers.push(c);
    return c;
  }

  /** Observe `status`, as a reconcile does first. */
  function observe(c: Controller, status: RolloutStatus): void {
    c.sentLog.observed({ uid: UID, namespace: "demo", name: "podinfo" }, status.notified);
  }

  function deps(c: Controller) {
    return {
      notifier: c.notifier,
      sentLog: c.sentLog,
      events: {
        record: (_r: RolloutWire, type: string, reason: string, message: string) => {
          c.events.push(`${type} ${reason}: ${message}`);
          return Promise.resolve();
        },
      },
    };
  }

  /** The reconcile that plans the promotion: the status it writes, outbox included. */
  async function transition(c: Controller): Promise<RolloutStatus> {
    observe(c, BEFORE);
    const e = entryFor(promoted("Promoted"), ROLLOUT, spec, BEFORE, AFTER, undefined, deps(c));
    return stageNotifications(ROLLOUT, AFTER, [e], deps(c));
  }

  /** A later reconcile: observe, hand over what is pending, write what was settled. */
  async function resync(c: Controller, status: RolloutStatus): Promise<RolloutStatus> {
    observe(c, status);
    await deliverOutbox(ROLLOUT, spec, status, deps(c));
    await c.notifier.idle();
    return stageNotifications(ROLLOUT, status, [], deps(c));
  }

  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.h.dispatcher.close();
    await receiver.close();
  });

  it("records the message in the same status as the transition, for its providers", async () => {
    await start([OK]);
    const written = await transition(controller());
    assert.deepEqual(written.outbox, [
      {
        id: TRANSITION_ID,
        event: "promoted",
        severity: "info",
        message: "Promoted",
        revision: "7d9f8c6b5",
        phase: "Succeeded",
        weight: 0,
        pending: [{ namespace: "demo", name: "hook" }],
      },
    ]);
    assert.equal(receiver.requests.length, 0, "nothing is sent before the status is written");
  });

  it("a controller stopped after writing the transition leaves the message to the next, sent once", async () => {
    await start([OK]);
    const first = controller();
    const written = await transition(first);
    await first.h.dispatcher.close(); // stops before delivering

    const second = controller();
    const after = await resync(second, written);
    assert.equal(receiver.accepted, 1);
    assert.equal((receiver.bodies[0] as { id: string }).id, TRANSITION_ID);
    assert.equal(after.outbox, undefined);
    assert.deepEqual(after.notified, [`${TRANSITION_ID}@demo/hook`]);

    // Every later reconcile, and a third controller reading the written status, sends nothing.
    await resync(second, written);
    await resync(second, after);
    await resync(controller(), after);
    assert.equal(receiver.requests.length, 1);
  });

  it("hands a pending message over once however often the reconcile runs meanwhile", async () => {
    await start([{ status: 503 }, { status: 503 }, OK]);
    const c = controller();
    const written = await transition(c);
    observe(c, written);
    for (let i = 0; i < 3; i++) await deliverOutbox(ROLLOUT, spec, written, deps(c));
    await c.notifier.idle();
    assert.equal(receiver.requests.length, 3, "two refusals and one success");
    assert.equal(receiver.accepted, 1);
    assert.deepEqual(await c.h.counts(), { "webhook/sent": 1 });
  });

  it("a controller stopped after the provider accepted, before recording it, sends it again with the same id", async () => {
    await start([OK]);
    const first = controller();
    const written = await transition(first);
    observe(first, written);
    await deliverOutbox(ROLLOUT, spec, written, deps(first));
    await first.notifier.idle(); // accepted, but the status recording it is never written
    await resync(controller(), written);
    assert.equal(receiver.accepted, 2, "at least once: this window re-sends");
    const ids = receiver.bodies.map((b) => (b as { id: string }).id);
    assert.deepEqual(ids, [TRANSITION_ID, TRANSITION_ID], "receivers deduplicate on id");
  });

  it("a message given up is settled and reported, not retried by the next controller", async () => {
    await start([{ status: 400, body: "invalid_payload" }]);
    const first = controller();
    const after = await resync(first, await transition(first));
    assert.equal(after.outbox, undefined);
    assert.deepEqual(after.notified, [`${TRANSITION_ID}@demo/hook`]);
    assert.equal(first.h.failures.length, 1);
    await resync(controller(), after);
    assert.equal(receiver.requests.length, 1);
  });

  it("reports entries pushed out of a full outbox as an Event", async () => {
    await start([OK]);
    const c = controller();
    let status = AFTER;
    for (let i = 0; i < 11; i++) {
      observe(c, status);
      const before = {
        ...status,
        lastTransitionTime: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
      };
      const e = entryFor(promoted(`m${i}`), ROLLOUT, spec, before, AFTER, undefined, deps(c));
      status = await stageNotifications(ROLLOUT, status, [e], deps(c));
    }
    assert.equal(status.outbox?.length, 10);
    assert.equal(status.outbox[0]?.message, "m1");
    assert.deepEqual(c.events, [
      `Warning NotificationDropped: outbox full: message ${UID}/promoted/7d9f8c6b5/2026-01-01T00:00:00Z (promoted) not sent to demo/hook`,
    ]);
  });
});
