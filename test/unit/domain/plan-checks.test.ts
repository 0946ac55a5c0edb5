// status.checks: the value, threshold and outcome of every check of the last counted analysis,
// kept through a rollback, cleared by a new run, and behind the AnalysisFailed and RolledBack texts.
import assert from "node:assert/strict";
import type { AnalysisResult, CheckResult } from "../../../src/domain/plan-model.js";
import { at, INTERVAL, observed, releasing, run, running, T0 } from "./plan-fixtures.js";

const SLOW: CheckResult = {
  name: "request-duration",
  kind: "metric",
  outcome: "fail",
  value: 497.5,
  unit: "ms",
  threshold: { max: 200 },
  message: "request-duration 497.5 ms > 200 ms",
};

const FINE: CheckResult = {
  name: "request-success-rate",
  kind: "metric",
  outcome: "pass",
  value: 100,
  unit: "%",
  threshold: { min: 99 },
  message: "request-success-rate 100 % >= 99 %",
};

function analysis(offsetMs: number, checks: readonly CheckResult[]): AnalysisResult {
  const failing = checks.filter((c) => c.outcome !== "pass");
  return {
    at: T0 + offsetMs,
    outcome: failing.length === 0 ? "pass" : "fail",
    details: failing.map((c) => c.message).join("; "),
    checks,
  };
}

function texts(p: ReturnType<typeof run>, reason: string): string[] {
  return p.actions.flatMap((a) =>
    a.kind === "recordEvent" && a.reason === reason ? [a.message] : [],
  );
}

describe("plan: check results in the status", () => {
  it("records every check of a counted analysis, stamped with when it ran", () => {
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: analysis(INTERVAL, [FINE, SLOW]),
      }),
      INTERVAL,
    );
    assert.equal(p.status.phase, "Progressing");
    assert.deepEqual(p.status.checks, [
      { ...FINE, measuredAt: at(INTERVAL) },
      { ...SLOW, measuredAt: at(INTERVAL) },
    ]);
    const [failed] = texts(p, "AnalysisFailed");
    assert.match(
      failed ?? "",
      /failed \(1\/2 failed checks\): request-duration 497.5 ms > 200 ms$/,
    );
  });

  it("leaves them alone for a result already counted, so the status does not change", () => {
    const before = [{ ...SLOW, measuredAt: at(INTERVAL) }];
    const p = run(
      releasing({
        status: running({
          stepStartedAt: at(0),
          failedChecks: 1,
          lastAnalysisAt: at(INTERVAL),
          checks: before,
        }),
        analysis: analysis(INTERVAL, [{ ...SLOW, value: 612 }]),
      }),
      INTERVAL + 1000,
    );
    assert.deepEqual(p.status.checks, before);
  });

  it("keeps the failed values when the threshold rolls the canary back", () => {
    const p = run(
      releasing({
        status: running({
          stepStartedAt: at(0),
          failedChecks: 1,
          lastAnalysisAt: at(INTERVAL),
          checks: [{ ...SLOW, measuredAt: at(INTERVAL) }],
        }),
        analysis: analysis(2 * INTERVAL, [FINE, { ...SLOW, value: 501 }]),
      }),
      2 * INTERVAL,
    );
    assert.equal(p.status.phase, "Failed");
    assert.deepEqual(p.status.checks, [
      { ...FINE, measuredAt: at(2 * INTERVAL) },
      { ...SLOW, value: 501, measuredAt: at(2 * INTERVAL) },
    ]);
    const [rolledBack] = texts(p, "RolledBack");
    assert.match(rolledBack ?? "", /last: failed: request-duration 497.5 ms > 200 ms$/);
    const notified = p.actions.find((a) => a.kind === "notify" && a.event === "rolledBack");
    assert.ok(notified?.kind === "notify");
    assert.match(notified.message, /request-duration 497.5 ms > 200 ms/);
  });

  it("keeps them while Failed, and clears them when a new revision starts a run", () => {
    const failed = running({
      phase: "Failed",
      canaryWeight: 0,
      verifiedWeight: 0,
      failedChecks: 2,
      checks: [{ ...SLOW, measuredAt: at(INTERVAL) }],
    });
    const resting = run(observed({ status: failed, target: { revision: "r2" } }), 3 * INTERVAL);
    assert.equal(resting.status.phase, "Failed");
    assert.deepEqual(resting.status.checks, [{ ...SLOW, measuredAt: at(INTERVAL) }]);
    const next = run(observed({ status: failed, target: { revision: "r3" } }), 3 * INTERVAL);
    assert.equal(next.status.phase, "Progressing");
    assert.equal(next.status.checks, undefined);
    assert.equal(next.status.failedChecks, 0);
  });

  it("keeps the previous checks when the analysis port reports none", () => {
    const before = [{ ...FINE, measuredAt: at(INTERVAL) }];
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0), lastAnalysisAt: at(INTERVAL), checks: before }),
        analysis: { at: T0 + 2 * INTERVAL, outcome: "pass", details: "" },
      }),
      2 * INTERVAL,
    );
    assert.equal(p.status.lastAnalysisAt, at(2 * INTERVAL));
    assert.deepEqual(p.status.checks, before);
  });
});
