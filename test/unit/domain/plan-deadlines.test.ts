// No wait without an end or a word: every wait for something that must happen on its own has the
// progress deadline (then Ready False, Stalled, one Event and one alert, or a rollback where one is
// safe), and every wait for a human says since when in status.waitingFor.
import assert from "node:assert/strict";
import type { Observed } from "../../../src/domain/plan-model.js";
import type { RolloutStatus, WaitReason } from "../../../src/domain/rollout.js";
import {
  at,
  condition,
  conditions,
  DEADLINE,
  eventReasons,
  notifications,
  observed,
  releasing,
  run,
  running,
  status,
  summary,
} from "./plan-fixtures.js";

const since = (reason: WaitReason): Pick<RolloutStatus, "waitingFor"> => ({
  waitingFor: { reason, since: at(0) },
});

const initializing = (overrides: Partial<RolloutStatus> = {}): RolloutStatus =>
  status({
    phase: "Initializing",
    canaryRevision: undefined,
    primaryRevision: undefined,
    conditions: conditions(["False", "Initializing"], ["Unknown", "Initializing"]),
    ...overrides,
  });

const finalising = (overrides: Partial<RolloutStatus> = {}): RolloutStatus =>
  running({ phase: "Finalising", canaryWeight: 0, verifiedWeight: 0, ...overrides });

interface Wait {
  readonly name: string;
  readonly o: (s: Partial<RolloutStatus>) => Observed;
  readonly reason: WaitReason;
  /** The action repeated while it waits. */
  readonly action: string;
}

const waits: readonly Wait[] = [
  {
    name: "Initializing: the Services vireo creates",
    o: (s) =>
      observed({
        status: initializing(s),
        services: { apex: true, primary: true, canary: false },
        target: { scaledUp: true },
      }),
    reason: "servicesReady",
    action: "ensureServices",
  },
  {
    name: "Initializing: the target scaled to zero (an autoscaler keeps it up)",
    o: (s) => observed({ status: initializing(s), target: { scaledUp: true } }),
    reason: "targetScaledDown",
    action: "scaleTargetToZero",
  },
  {
    name: "Finalising: the canary scaled down",
    o: (s) =>
      releasing({
        status: finalising(s),
        primary: { revision: "r2" },
        route: { canaryWeight: 0 },
      }),
    reason: "targetScaledDown",
    action: "scaleCanaryDown",
  },
];

describe("plan: deadlines of the waits that used to have none", () => {
  for (const w of waits) {
    describe(w.name, () => {
      it(`waits for ${w.reason}, says since when, and polls`, () => {
        const p = run(w.o({}), 0);
        assert.deepEqual(p.status.waitingFor, { reason: w.reason, since: at(0) });
        assert.ok(summary(p).includes(w.action), summary(p).join(" "));
        assert.ok(summary(p).includes("requeue(2000)"), summary(p).join(" "));
        assert.deepEqual(condition(p, "Stalled")?.[0], "False");
      });

      it("keeps the wait's start across plans", () => {
        const p = run(w.o(since(w.reason)), DEADLINE / 2);
        assert.deepEqual(p.status.waitingFor, { reason: w.reason, since: at(0) });
        assert.deepEqual(eventReasons(p), []);
      });

      it("past the progress deadline: Ready False, Stalled, one Event and one alert, still trying", () => {
        const p = run(w.o(since(w.reason)), DEADLINE + 1);
        assert.deepEqual(condition(p, "Ready"), ["False", "ProgressDeadlineExceeded"]);
        assert.deepEqual(condition(p, "Stalled"), ["True", "ProgressDeadlineExceeded"]);
        assert.deepEqual(condition(p, "Reconciling"), ["False", "ProgressDeadlineExceeded"]);
        assert.deepEqual(eventReasons(p), ["ProgressDeadlineExceeded"]);
        assert.deepEqual(notifications(p), ["error:progressDeadlineExceeded"]);
        assert.match(p.status.message, /progress deadline of 10m exceeded/);
        assert.ok(summary(p).includes(w.action));
        // Said once: the next plan finds Ready already saying it.
        const again = run(
          w.o({ ...since(w.reason), conditions: p.status.conditions }),
          DEADLINE + 5_000,
        );
        assert.deepEqual(eventReasons(again), []);
        assert.deepEqual(notifications(again), []);
      });
    });
  }
});

describe("plan: waits for a human say since when", () => {
  it("a Paused release (by request) waits for approval, without a deadline", () => {
    const o = releasing({ status: running({ phase: "Paused", stepStartedAt: at(0) }) });
    const p = run(o, 0);
    assert.equal(p.status.phase, "Paused");
    assert.deepEqual(p.status.waitingFor, { reason: "approval", since: at(0) });
    const later = run(
      releasing({
        status: running({ phase: "Paused", stepStartedAt: at(0), ...since("approval") }),
      }),
      100 * DEADLINE,
    );
    assert.equal(later.status.phase, "Paused");
    assert.deepEqual(later.status.waitingFor, { reason: "approval", since: at(0) });
    assert.deepEqual(condition(later, "Reconciling"), ["True", "Paused"]);
  });
});

describe("plan: a rollback the proxies do not confirm", () => {
  const failed = (overrides: Partial<RolloutStatus> = {}): RolloutStatus =>
    running({
      phase: "Failed",
      canaryWeight: 0,
      verifiedWeight: 30,
      message: "Rolled back podinfo revision r2: aborted",
      conditions: conditions(
        ["False", "Aborted", "Rolled back podinfo revision r2: aborted"],
        ["False", "Failed"],
      ),
      ...overrides,
    });
  const unconfirmed = (s: RolloutStatus): Observed =>
    releasing({ status: s, requested: { canaryWeight: 0 }, verified: undefined });

  it("waits for trafficVerified, keeping the rollback's reason", () => {
    const p = run(unconfirmed(failed()), 0);
    assert.deepEqual(p.status.waitingFor, { reason: "trafficVerified", since: at(0) });
    assert.deepEqual(condition(p, "Stalled"), ["True", "Aborted"]);
  });

  it("past the deadline: says the proxies are why, one Warning Event, the reason kept", () => {
    const p = run(unconfirmed(failed(since("trafficVerified"))), DEADLINE + 1);
    assert.deepEqual(eventReasons(p), ["RollbackUnconfirmed"]);
    assert.match(p.status.message, /proxies did not confirm the rollback within 10m$/);
    assert.deepEqual(condition(p, "Ready"), ["False", "Aborted"]);
    const again = run(unconfirmed({ ...p.status }), DEADLINE + 5_000);
    assert.deepEqual(eventReasons(again), []);
  });
});
