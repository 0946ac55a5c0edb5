// The sequential judge's decisions in the planner: harm rolls back at once (not after
// `threshold` failed intervals), inconclusive neither passes nor counts as a failed check, and a
// step still inconclusive at the progress deadline pauses with the judge's numbers.
import assert from "node:assert/strict";
import type { AnalysisResult, CheckResult } from "../../../src/domain/plan-model.js";
import { JUDGE_READ_INTERVAL_MS } from "../../../src/domain/plan-step.js";
import type { JudgeStatus } from "../../../src/domain/rollout.js";
import { PRIMARY_ONLY } from "../../../src/domain/traffic-route.js";
import {
  at,
  DEADLINE,
  eventReasons,
  INTERVAL,
  releasing,
  run,
  requeue,
  running,
  spec,
  T0,
} from "./plan-fixtures.js";

const STATE: JudgeStatus = {
  revision: "r2",
  warm: true,
  metrics: [
    { name: "request-success-rate", series: [[{ step: 1, rho: 0.1, a: 3, b: 0, nC: 10, nP: 90 }]] },
  ],
  dropped: 1,
  canaryRequests: 10,
  canaryFailed: 3,
};

function judged(
  decision: "harm" | "pass" | "inconclusive",
  offsetMs: number,
  others: AnalysisResult["outcome"] = "pass",
): AnalysisResult {
  const check: CheckResult = {
    name: "request-success-rate",
    kind: "metric",
    outcome: decision === "harm" ? "fail" : decision === "pass" ? "pass" : "noData",
    unit: "%",
    value: 70,
    primaryValue: 100,
    threshold: { min: 99.5 },
    message: `request-success-rate: canary 70 % vs primary 100 %: ${decision}`,
    judge: { decision, eValue: decision === "harm" ? 370 : 0.5, canaryRequests: 10 },
  };
  return {
    at: T0 + offsetMs,
    outcome: others,
    details: check.message,
    checks: [check],
    sequential: { decision, state: STATE, message: check.message },
  };
}

describe("plan: the sequential judge", () => {
  it("harm rolls back at the first analysis that shows it, keeping the judge's state", () => {
    const p = run(
      releasing({ status: running({ stepStartedAt: at(0) }), analysis: judged("harm", INTERVAL) }),
      INTERVAL,
    );
    assert.equal(p.status.phase, "Failed");
    assert.deepEqual(p.status.judge, STATE);
    assert.deepEqual(eventReasons(p), ["AnalysisFailed", "RolledBack"]);
    // The proxies are told in this reconcile, before anything else: every reconcile in between
    // is more requests to a failing canary.
    assert.deepEqual(p.actions[0], { kind: "setTraffic", route: PRIMARY_ONLY });
    assert.equal(p.status.canaryWeight, 0);
    // What the release cost its users, in the RolledBack Event and the notification.
    const cost = "the canary answered 10 requests, 3 failed";
    const told = p.actions.filter(
      (a) => (a.kind === "recordEvent" && a.reason === "RolledBack") || a.kind === "notify",
    );
    assert.equal(told.length, 2);
    for (const a of told) assert.ok("message" in a && a.message.includes(cost), JSON.stringify(a));
    assert.match(p.status.message, /the sequential judge found a regression: request-success-rate/);
    const ready = p.status.conditions.find((c) => c.type === "Ready");
    assert.equal(ready?.reason, "FailedChecks");
  });

  it("inconclusive is neither a pass nor a failed check: the step waits", () => {
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: judged("inconclusive", INTERVAL),
      }),
      INTERVAL,
    );
    assert.equal(p.status.phase, "Progressing");
    assert.equal(p.status.failedChecks, 0);
    assert.equal(p.status.iterations, 0);
    assert.equal(p.status.currentStep, 1);
    assert.deepEqual(p.status.judge, STATE);
    assert.deepEqual(eventReasons(p), []);
  });

  it("a pass counts like any passed analysis", () => {
    const p = run(
      releasing({ status: running({ stepStartedAt: at(0) }), analysis: judged("pass", INTERVAL) }),
      INTERVAL,
    );
    // One passed analysis completes a setWeight step: on to the next.
    assert.equal(p.status.currentStep, 2);
  });

  it("a failing threshold check next to an inconclusive judge still counts", () => {
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: judged("inconclusive", INTERVAL, "fail"),
      }),
      INTERVAL,
    );
    assert.equal(p.status.failedChecks, 1);
  });

  it("still inconclusive at the progress deadline: paused, with the judge's message", () => {
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: judged("inconclusive", DEADLINE),
      }),
      DEADLINE,
    );
    assert.equal(p.status.phase, "Paused");
    assert.match(
      p.status.message,
      /paused: InsufficientEvidence: no decision within .*request-success-rate: canary 70 % vs primary 100 %: inconclusive/,
    );
    assert.deepEqual(eventReasons(p), ["Paused"]);
  });

  it("a resume grants another deadline, counted from the resume", () => {
    const resumedAt = DEADLINE + INTERVAL;
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0), lastTransitionTime: at(resumedAt) }),
        analysis: judged("inconclusive", resumedAt + INTERVAL),
      }),
      resumedAt + INTERVAL,
    );
    assert.equal(p.status.phase, "Progressing");
  });
});

describe("plan: how often the sequential judge reads", () => {
  const judgedOnly = spec({
    analysis: {
      metrics: [
        { name: "request-success-rate", judge: { margin: { kind: "points", points: 0.5 } } },
        { name: "request-duration", judge: { margin: { kind: "ms", ms: 20 } } },
      ],
    },
  });
  const asks = (o: Parameters<typeof run>[0], offsetMs: number): boolean =>
    run(o, offsetMs).actions.some((a) => a.kind === "runAnalysis");

  it("every second when the judge makes the whole analysis, whatever the interval", () => {
    const o = releasing({ spec: judgedOnly, status: running({ stepStartedAt: at(0) }) });
    assert.equal(JUDGE_READ_INTERVAL_MS, 1_000);
    assert.equal(asks(o, JUDGE_READ_INTERVAL_MS - 1), false);
    // ... and the reconciler is woken for it.
    assert.equal(requeue(run(o, 500)), JUDGE_READ_INTERVAL_MS - 500);
    assert.equal(asks(o, JUDGE_READ_INTERVAL_MS), true);
  });

  it("every interval when a threshold check or a rollout webhook is part of it", () => {
    const mixed = spec({
      analysis: {
        metrics: [...judgedOnly.analysis.metrics, { name: "error-budget", min: 99 }],
      },
    });
    const hooked = spec({
      analysis: {
        ...judgedOnly.analysis,
        webhooks: [{ name: "load", type: "rollout", url: "http://x", timeoutMs: 1000, retries: 0 }],
      },
    });
    for (const s of [mixed, hooked]) {
      const o = releasing({ spec: s, status: running({ stepStartedAt: at(0) }) });
      assert.equal(asks(o, JUDGE_READ_INTERVAL_MS), false);
      assert.equal(asks(o, INTERVAL), true);
    }
  });
});
