// Whole releases driven step by step through the in-memory world of plan-sim.ts.
import assert from "node:assert/strict";
import type { GateType } from "../../../src/domain/plan-model.js";
import { canary, HEADER_MATCH, INTERVAL, MIN, pause, spec, w, webhook } from "./plan-fixtures.js";
import type { Fault, SimOptions } from "./plan-sim.js";
import { Sim } from "./plan-sim.js";

const STEPS = canary(w(10), w(30), pause(2 * MIN), w(60), pause());

/** A world initialized on r1, resting. */
function initialized(options: SimOptions): Sim {
  const sim = new Sim(options);
  sim.untilPhase("Initialized");
  return sim;
}

describe("plan scenarios", () => {
  it("initializes without moving traffic before the primary is ready", () => {
    const sim = new Sim({ spec: spec() });
    sim.untilPhase("Initialized");
    assert.deepEqual(sim.phases, ["Initializing", "Initialized"]);
    assert.equal(sim.primary.revision, "r1");
    assert.equal(sim.target.replicas, 0);
    assert.deepEqual(sim.weights, [0]);
    assert.deepEqual(sim.notified(), ["initialized"]);
    assert.equal(sim.status?.primaryRevision, "r1");
  });

  it("releases a canary step by step, holds at pause{} until promoted, then promotes", () => {
    const sim = initialized({ spec: spec({ strategy: STEPS }) });
    sim.release("r2");
    sim.untilPhase("Paused");
    assert.equal(sim.status?.currentStep, 5);
    assert.deepEqual(sim.weights, [0, 10, 30, 60]);
    // Held: nothing moves however long it waits, while analysis keeps running.
    const analysesBefore = sim.analysesRun();
    for (let i = 0; i < 20; i++) sim.step();
    assert.equal(sim.status?.phase, "Paused");
    assert.ok(sim.analysesRun() > analysesBefore);
    sim.request("promote", "p-1");
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.phases, [
      "Initializing",
      "Initialized",
      "Progressing",
      "Paused",
      "Progressing",
      "Promoting",
      "Finalising",
      "Succeeded",
    ]);
    assert.deepEqual(sim.weights, [0, 10, 30, 60, 100, 0]);
    assert.equal(sim.promotions, 1);
    assert.equal(sim.primary.revision, "r2");
    assert.equal(sim.target.replicas, 0);
    assert.equal(sim.status?.primaryRevision, "r2");
    assert.equal(sim.status?.handledAction, "p-1");
    assert.deepEqual(sim.notified(), ["initialized", "started", "waitingApproval", "promoted"]);
  });

  it("starts every step's clock only once its weight is confirmed, and waits the pause", () => {
    const sim = initialized({ spec: spec({ strategy: canary(w(20), pause(5 * MIN), w(40)) }) });
    sim.release("r2");
    sim.untilPhase("Succeeded");
    const pausing = sim.plans.find(
      (p) => p.status.currentStep === 2 && p.status.stepStartedAt !== undefined,
    );
    const left = sim.plans.findIndex((p) => p.status.currentStep === 3);
    const pauseStart = Date.parse(pausing?.status.stepStartedAt ?? "");
    assert.ok((sim.times[left] ?? 0) - pauseStart >= 5 * MIN, "the pause lasted its duration");
    // Each step's clock started once proxies confirmed its weight, and every analysis ran after.
    for (const p of sim.plans) {
      if (p.status.phase === "Progressing" && p.status.stepStartedAt !== undefined) {
        assert.equal(p.status.verifiedWeight, p.status.canaryWeight);
      }
    }
  });

  it("rolls back after threshold failed checks, counting no data as a failure", () => {
    const sim = initialized({
      spec: spec({ strategy: STEPS, analysis: { threshold: 2 } }),
      analyse: (step) => (step === 2 ? "noData" : "pass"),
    });
    sim.release("r2");
    sim.untilPhase("Failed");
    sim.until((s) => s.target.replicas === 0);
    assert.deepEqual(sim.weights, [0, 10, 30, 0]);
    assert.equal(sim.status?.failedChecks, 2);
    assert.equal(sim.promotions, 0);
    assert.equal(sim.primary.revision, "r1");
    assert.ok(sim.events().includes("RolledBack"));
    assert.ok(sim.notified().includes("rolledBack"));
    // A failed release rests until something changes.
    for (let i = 0; i < 10; i++) sim.step();
    assert.equal(sim.status?.phase, "Failed");
    assert.deepEqual(sim.weights, [0, 10, 30, 0]);
  });

  it("retries a failed release of the same revision by request", () => {
    let failing = true;
    const sim = initialized({
      spec: spec({ strategy: canary(w(10), w(50)), analysis: { threshold: 1 } }),
      analyse: () => (failing ? "fail" : "pass"),
    });
    sim.release("r2");
    sim.untilPhase("Failed");
    sim.until((s) => s.target.replicas === 0);
    failing = false;
    sim.request("retry", "retry-1");
    sim.untilPhase("Succeeded");
    assert.equal(sim.primary.revision, "r2");
    assert.equal(sim.promotions, 1);
    assert.deepEqual(sim.weights, [0, 10, 0, 10, 50, 100, 0]);
  });

  it("aborts by request: traffic back to the primary, canary down", () => {
    const sim = initialized({ spec: spec({ strategy: STEPS }) });
    sim.release("r2");
    sim.until((s) => s.status?.currentStep === 2 && s.verified?.canaryWeight === 30);
    sim.request("abort", "a-1");
    sim.untilPhase("Failed");
    sim.until((s) => s.target.replicas === 0);
    assert.equal(sim.status?.conditions[0]?.reason, "Aborted");
    assert.deepEqual(sim.weights, [0, 10, 30, 0]);
    assert.equal(sim.primary.revision, "r1");
  });

  it("pauses and resumes by request", () => {
    const sim = initialized({ spec: spec({ strategy: canary(w(10), w(50)) }) });
    sim.release("r2");
    sim.until((s) => s.status?.currentStep === 1);
    sim.request("pause", "pause-1");
    sim.untilPhase("Paused");
    const step = sim.status?.currentStep;
    for (let i = 0; i < 30; i++) sim.step();
    assert.equal(sim.status?.phase, "Paused");
    assert.equal(sim.status?.currentStep, step);
    sim.request("resume", "resume-1");
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.weights, [0, 10, 50, 100, 0]);
  });

  it("promotes by request mid-release, skipping the remaining steps", () => {
    const sim = initialized({ spec: spec({ strategy: STEPS }) });
    sim.release("r2");
    sim.until((s) => s.status?.currentStep === 2);
    sim.request("promote", "now");
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.weights, [0, 10, 100, 0]);
    assert.equal(sim.promotions, 1);
  });

  it("restarts with weight 0 first when a new revision arrives mid-release", () => {
    const sim = initialized({ spec: spec({ strategy: canary(w(10), w(30), w(50)) }) });
    sim.release("r2");
    sim.until((s) => s.verified?.canaryWeight === 30);
    sim.release("r3");
    sim.step();
    assert.equal(sim.status?.canaryRevision, "r3");
    assert.equal(sim.status?.currentStep, 0);
    sim.step();
    assert.equal(sim.requested?.canaryWeight, 0);
    sim.untilPhase("Succeeded");
    assert.equal(sim.primary.revision, "r3");
    assert.deepEqual(sim.weights, [0, 10, 30, 0, 10, 30, 50, 100, 0]);
    assert.equal(sim.promotions, 1);
  });

  it("rolls back a canary that never becomes ready, at the progress deadline", () => {
    const sim = initialized({ spec: spec({ progressDeadlineSeconds: 60 }) });
    sim.release("r2", { broken: true });
    sim.untilPhase("Failed");
    assert.equal(sim.status?.conditions[0]?.reason, "ProgressDeadlineExceeded");
    assert.deepEqual(sim.weights, [0]);
  });

  it("A/B: routes matching requests to the canary for `iterations` analyses", () => {
    const sim = initialized({
      spec: spec({ strategy: { kind: "abTesting", matches: HEADER_MATCH, iterations: 3 } }),
    });
    sim.release("r2");
    sim.until((s) => s.requested?.matches !== undefined);
    assert.deepEqual(sim.requested, { canaryWeight: 0, matches: HEADER_MATCH });
    sim.untilPhase("Succeeded");
    const analyses = sim.analysesRun();
    assert.equal(analyses, 3);
    assert.equal(sim.primary.revision, "r2");
    assert.deepEqual(sim.requested, { canaryWeight: 0 });
  });

  it("blue/green: analyses at 0 %, switches all traffic to the canary, then promotes", () => {
    const sim = initialized({ spec: spec({ strategy: { kind: "blueGreen", iterations: 2 } }) });
    sim.release("r2");
    sim.untilPhase("Promoting");
    assert.equal(sim.analysesRun(), 2);
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.weights, [0, 100, 0]);
    // The primary changed only while every proxy sent everything to the canary.
    const promoteAt = sim.plans.findIndex((p) => p.actions.some((a) => a.kind === "promote"));
    assert.equal(sim.plans[promoteAt]?.status.verifiedWeight, 100);
    assert.equal(sim.promotions, 1);
  });

  it("mirroring: mirrors traffic to the canary for `iterations` analyses", () => {
    const sim = initialized({
      spec: spec({ strategy: { kind: "mirroring", mirrorPercent: 50, iterations: 2 } }),
    });
    sim.release("r2");
    sim.until((s) => s.requested?.mirrorPercent === 50);
    assert.deepEqual(sim.requested, { canaryWeight: 0, mirrorPercent: 50 });
    sim.untilPhase("Succeeded");
    assert.equal(sim.analysesRun(), 2);
    assert.deepEqual(sim.requested, { canaryWeight: 0 });
  });

  it("skipAnalysis: promotes as soon as the canary is ready", () => {
    const sim = initialized({ spec: spec({ strategy: STEPS, skipAnalysis: true }) });
    sim.release("r2");
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.phases.slice(2), ["Progressing", "Promoting", "Finalising", "Succeeded"]);
    assert.equal(sim.analysesRun(), 0);
    assert.deepEqual(sim.weights, [0, 100, 0]);
  });

  it("waits at the gates until they open", () => {
    const open = new Set<GateType>();
    const sim = initialized({
      spec: spec({
        analysis: {
          webhooks: [
            webhook("confirm-rollout"),
            webhook("confirm-traffic-increase"),
            webhook("confirm-promotion"),
          ],
        },
      }),
      gate: (type) => (open.has(type) ? "open" : "closed"),
    });
    sim.release("r2");
    sim.untilPhase("Waiting");
    for (let i = 0; i < 5; i++) sim.step();
    assert.equal(sim.target.replicas, 0, "the canary does not scale up before approval");
    open.add("confirm-rollout");
    sim.until((s) => s.status?.message.includes("confirm-traffic-increase") === true);
    assert.deepEqual(sim.weights, [0]);
    open.add("confirm-traffic-increase");
    sim.untilPhase("WaitingPromotion");
    assert.deepEqual(sim.weights, [0, 10, 50]);
    open.add("confirm-promotion");
    sim.untilPhase("Succeeded");
    assert.deepEqual(sim.notified(), [
      "initialized",
      "waitingApproval",
      "started",
      "waitingApproval",
      "promoted",
    ]);
  });

  it("holds a ready step outside promotion windows", () => {
    const sim = initialized({ spec: spec({ strategy: canary(w(10), w(50)) }) });
    sim.inWindow = false;
    sim.release("r2");
    for (let i = 0; i < 40; i++) sim.step();
    assert.equal(sim.status?.phase, "Progressing");
    assert.equal(sim.status?.currentStep, 0);
    assert.match(sim.status?.message ?? "", /promotion window/);
    sim.inWindow = true;
    sim.untilPhase("Succeeded");
  });

  describe("gives the target back on deletion with revertOnDeletion", () => {
    const given = (sim: Sim): void => {
      sim.deleting = true;
      sim.until((s) => !s.finalizer);
      assert.equal(sim.status?.phase, "Terminating");
      assert.ok(sim.target.replicas > 0, "target scaled back up");
      assert.equal(sim.primary.exists, false, "primary deleted");
      assert.deepEqual(sim.services, {
        apex: true,
        primary: false,
        canary: false,
        apexOnTarget: true,
      });
      assert.equal(sim.requested, undefined, "no routing left behind");
      const kinds = sim.applied.map((a) => a.kind);
      const first = (k: string): number => kinds.indexOf(k as (typeof kinds)[number]);
      assert.ok(first("revertTarget") < first("restoreApex"));
      assert.ok(first("restoreApex") < first("removePrimary"));
      assert.ok(first("removePrimary") < first("removeFinalizer"));
    };

    it("at rest", () => {
      given(initialized({ spec: spec({ revertOnDeletion: true }) }));
    });

    it("mid-release, the target running the canary", () => {
      const sim = initialized({ spec: spec({ revertOnDeletion: true }) });
      sim.release("r2");
      sim.until((s) => s.verified?.canaryWeight === 10);
      given(sim);
    });

    for (const fault of ["lostStatus", "partial", "restart"] as const) {
      it(`with a ${fault} every 2 reconciles`, () => {
        let on = false;
        const sim = initialized({
          spec: spec({ revertOnDeletion: true }),
          fault: (tick) => (on && tick % 2 === 1 ? fault : undefined),
        });
        on = true;
        given(sim);
      });
    }
  });

  describe("resumes after a crash at any point", () => {
    const strategies: Record<string, SimOptions["spec"]> = {
      canary: spec({ strategy: canary(w(10), w(30), pause(2 * MIN), w(60)) }),
      "A/B": spec({ strategy: { kind: "abTesting", matches: HEADER_MATCH, iterations: 2 } }),
      "blue/green": spec({ strategy: { kind: "blueGreen", iterations: 2 } }),
      mirroring: spec({ strategy: { kind: "mirroring", mirrorPercent: 20, iterations: 2 } }),
    };
    const faults: Fault[] = ["lostStatus", "partial", "restart"];
    for (const [name, s] of Object.entries(strategies)) {
      const reference = initialized({ spec: s });
      const skip = reference.planned.length;
      reference.release("r2");
      reference.untilPhase("Succeeded");
      const phases = reference.planned.slice(skip);
      const weights = withoutLeadingZeros(reference.weights);

      for (const fault of faults) {
        for (const every of [2, 3, 5]) {
          it(`${name}: ${fault} every ${every} reconciles`, () => {
            const sim = initialized({ spec: s });
            const from = sim.tick;
            const crashing = new Sim({
              spec: s,
              fault: (tick) => (tick > from && (tick - from) % every === 0 ? fault : undefined),
            });
            crashing.copyWorld(sim);
            crashing.release("r2");
            crashing.untilPhase("Succeeded", 2000);
            assert.equal(crashing.promotions, 1, "promoted exactly once");
            assert.deepEqual(crashing.planned, phases, "same phases in the same order");
            assert.deepEqual(withoutLeadingZeros(crashing.weights), weights, "same steps");
            assert.equal(crashing.primary.revision, "r2");
          });
        }
      }
    }
  });

  it("an analysis interval passes between two analyses of a step", () => {
    const sim = initialized({ spec: spec({ strategy: { kind: "blueGreen", iterations: 4 } }) });
    sim.release("r2");
    sim.untilPhase("Promoting");
    const times = sim.plans
      .filter((p) => p.actions.some((a) => a.kind === "runAnalysis"))
      .map((p) => Date.parse(p.status.lastAnalysisAt ?? ""));
    for (let i = 1; i < times.length; i++) {
      assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= INTERVAL);
    }
  });
});

function withoutLeadingZeros(weights: readonly number[]): number[] {
  const first = weights.findIndex((x) => x !== 0);
  return first < 0 ? [] : distinct(weights.slice(first));
}

function distinct<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
}
