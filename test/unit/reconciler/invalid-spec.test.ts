// A Rollout whose spec the controller refuses, through the real reconcile(): one Warning Event
// that says why, Stalled, and, when deleted, its finalizer removed (issue 17: it was kept, so the
// Rollout could not be deleted); in the middle of a release, traffic held until the progress
// deadline, then rolled back (issue 17: the canary stayed at its weight for ever).
import assert from "node:assert/strict";
import { reconcile } from "../../../src/reconciler/reconcile.js";
import { FINALIZER } from "../../../src/kube/rollout-store.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { FakeClock } from "../../../src/common/clock.js";
import { statusToWire } from "../../../src/api/parse-status.js";
import { env, log, MemoryWorkload, pausedAt, rolloutWire } from "./memory-ports.js";

/** Weights that do not increase: the schema accepts it, the controller's parser does not. */
const refused = {
  targetRef: { kind: "Deployment", name: "app" },
  service: { port: 80 },
  strategy: { canary: { steps: [{ setWeight: 50 }, { setWeight: 10 }] } },
};

describe("reconcile: an invalid spec", () => {
  let server: XdsServer;
  beforeEach(() => {
    server = new XdsServer({ log, clock: new FakeClock() });
  });
  afterEach(async () => {
    await server.close();
  });

  it("records one Warning Event saying why, and reports Stalled", async () => {
    const e = env(server, new MemoryWorkload("r1"));
    await reconcile(rolloutWire(3, refused, undefined), e.deps);
    assert.equal(e.events.length, 1);
    assert.match(e.events[0] ?? "", /^Warning \w+: Invalid spec: /);
    const s = e.written.at(-1);
    const stalled = s?.conditions.find((c) => c.type === "Stalled");
    assert.deepEqual([stalled?.status, stalled?.observedGeneration], ["True", 3]);

    // Reconciled again with what it wrote: nothing new to say.
    await reconcile(rolloutWire(3, refused, s === undefined ? undefined : statusToWire(s)), e.deps);
    assert.equal(e.events.length, 1);
  });

  it("loses its finalizer when deleted, so the deletion completes", async () => {
    const e = env(server, new MemoryWorkload("r1"));
    const deleted = rolloutWire(3, refused, undefined, {
      deletionTimestamp: new Date(),
      finalizers: [FINALIZER],
    });
    const r = await reconcile(deleted, e.deps);
    assert.deepEqual(e.finalizer, ["absent"]);
    assert.equal(r.requeueAfterMs, undefined);
    assert.deepEqual(e.written, [], "a Rollout on its way out gets no status write");
  });

  it("mid-release: holds at 10 % until the progress deadline, then rolls back to the primary", async () => {
    const workload = new MemoryWorkload("r2");
    const e = env(server, workload);
    const clock = e.deps.clock as FakeClock;
    const paused = pausedAt(10);
    const valid = {
      targetRef: { kind: "Deployment", name: "app" },
      service: { port: 80 },
      progressDeadlineSeconds: 60,
      strategy: { canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }] } },
    };
    const broken = {
      ...valid,
      strategy: { canary: { steps: [{ setWeight: 50 }, { setWeight: 10 }] } },
    };
    await reconcile(rolloutWire(1, valid, statusToWire(paused)), e.deps);
    e.publish();
    let status = e.written.at(-1) ?? paused;
    const step = async (spec: unknown, generation = 2) => {
      const r = await reconcile(rolloutWire(generation, spec, statusToWire(status)), e.deps);
      status = e.written.at(-1) ?? status;
      e.publish();
      return r;
    };

    const held = await step(broken);
    assert.deepEqual(
      held.plan.actions.map((a) => a.kind),
      ["recordEvent", "requeueAfter"],
      "nothing moves",
    );
    assert.equal(held.requeueAfterMs, 60_000, "planned again at the deadline");
    assert.equal(status.phase, "Paused");
    assert.deepEqual([status.route?.canaryWeight, status.verifiedWeight], [10, 10], "held");
    assert.match(e.events.join("\n"), /Warning InvalidSpec: Invalid spec: spec\.strategy/);

    await clock.advance(30_000);
    await step(broken);
    assert.equal(status.phase, "Paused", "still held before the deadline");
    const fixed = { ...status };
    await step(valid, 3);
    assert.equal(status.phase, "Paused", "fixed in time: the release carries on");
    assert.equal(status.conditions.find((c) => c.type === "Stalled")?.status, "False");
    status = fixed; // and broken again, with the clock as it was

    await clock.advance(30_000);
    const rolled = await step(broken);
    assert.equal(status.phase, "Failed");
    assert.ok(rolled.plan.actions.some((a) => a.kind === "notify" && a.event === "rolledBack"));
    assert.match(
      e.events.at(-1) ?? "",
      /^Warning RolledBack: Rolled back app revision r2: the spec was invalid for 60s \(progressDeadlineSeconds\): spec\.strategy/,
    );
    // The Failed phase finishes it through the fallback: weight 0 confirmed, canary scaled down.
    for (let i = 0; i < 3 && !workload.calls.includes("scaleTarget(0)"); i++) await step(broken);
    assert.deepEqual([status.route?.canaryWeight, status.verifiedWeight], [0, 0]);
    assert.ok(workload.calls.includes("scaleTarget(0)"), workload.calls.join(" "));
    const stalled = status.conditions.find((c) => c.type === "Stalled");
    assert.deepEqual([stalled?.status, stalled?.reason], ["True", "InvalidSpec"]);
    assert.equal(
      e.events.filter((x) => x.startsWith("Warning InvalidSpec")).length,
      1,
      "the refusal told once",
    );
  });
});
