import assert from "node:assert/strict";
import {
  age,
  rolloutTable,
  rolloutView,
  statusText,
  terminal,
  weight,
} from "../../../src/cli/format.js";

const now = Date.parse("2026-11-22T06:00:00Z");
const obj = {
  metadata: { namespace: "demo", name: "podinfo", creationTimestamp: "2026-11-22T05:00:00Z" },
  status: {
    phase: "Progressing",
    canaryWeight: 30,
    verifiedWeight: 10,
    currentStep: 2,
    failedChecks: 1,
    canaryRevision: "abc",
    primaryRevision: "def",
    message: "waiting for proxies",
    lastTransitionTime: "2026-11-22T05:58:30Z",
    conditions: [{ type: "Ready", status: "True", reason: "Progressing", message: "ok" }],
  },
};

describe("CLI rendering", () => {
  it("prints ages like kubectl", () => {
    assert.equal(age("2026-11-22T05:59:15Z", now), "45s");
    assert.equal(age("2026-11-22T05:56:48Z", now), "3m12s");
    assert.equal(age("2026-11-22T01:00:00Z", now), "5h");
    assert.equal(age("2026-11-19T06:00:00Z", now), "3d");
    assert.equal(age(undefined, now), "<unknown>");
  });

  it("lists Rollouts with the columns kubectl get shows", () => {
    assert.equal(
      rolloutTable([rolloutView(obj)], now, false),
      [
        "NAME      STATUS        WEIGHT             STEP   FAILED   LAST TRANSITION   AGE",
        "podinfo   Progressing   30 (10 verified)   2      1        90s               60m",
        "",
      ].join("\n"),
    );
  });

  it("shows a Rollout that was never reconciled as pending, with zeros", () => {
    const v = rolloutView({ metadata: { name: "new", namespace: "x" } });
    assert.equal(v.phase, "<pending>");
    assert.equal(weight(v), "0");
    assert.equal(terminal(v), undefined);
  });

  it("renders a status for people and tells a finished release", () => {
    const text = statusText(rolloutView(obj), now);
    assert.match(text, /phase: {6}Progressing \(since 90s\)/);
    assert.match(text, /revisions: {2}canary abc, primary def/);
    assert.match(text, /condition: {2}Ready=True Progressing: ok/);
    assert.equal(terminal(rolloutView({ status: { phase: "Failed" } })), "failed");
    assert.equal(terminal(rolloutView({ status: { phase: "Succeeded" } })), "succeeded");
  });

  it("shows every check's value, threshold and outcome, and why one did not pass", () => {
    const measuredAt = "2026-11-22T05:59:48Z";
    const failed = {
      metadata: { namespace: "demo", name: "podinfo" },
      status: {
        ...obj.status,
        phase: "Failed",
        checks: [
          {
            name: "request-success-rate",
            kind: "metric",
            outcome: "pass",
            value: 100,
            unit: "%",
            threshold: { min: 99 },
            message: "request-success-rate 100 % >= 99 %",
            measuredAt,
          },
          {
            name: "request-duration",
            kind: "metric",
            outcome: "fail",
            value: 497.5,
            unit: "ms",
            threshold: { max: 200 },
            message: "request-duration 497.5 ms > 200 ms",
            measuredAt,
          },
          {
            name: "errors",
            kind: "metric",
            outcome: "error",
            threshold: { min: 0, max: 2 },
            message: "errors: Prometheus http://prom:9090: connect ECONNREFUSED",
            measuredAt,
          },
          {
            name: "smoke",
            kind: "webhook",
            outcome: "noData",
            threshold: {},
            message: "",
            measuredAt,
          },
        ],
      },
    };
    const text = statusText(rolloutView(failed), now);
    const from = text.indexOf("  checks:\n");
    assert.ok(from > 0, text);
    assert.equal(
      text.slice(from),
      [
        "  checks:",
        "    CHECK                  RESULT    VALUE      THRESHOLD    MEASURED   DETAIL",
        "    request-success-rate   pass      100 %      >= 99 %      12s ago",
        "    request-duration       FAIL      497.5 ms   <= 200 ms    12s ago    request-duration 497.5 ms > 200 ms",
        "    errors                 ERROR     -          >= 0, <= 2   12s ago    errors: Prometheus http://prom:9090: connect ECONNREFUSED",
        "    smoke                  NO DATA   -          -            12s ago",
        "",
      ].join("\n"),
    );
    assert.deepEqual(rolloutView(obj).checks, []);
    assert.ok(!statusText(rolloutView(obj), now).includes("  checks:\n"));
  });
});

describe("CLI rendering of the sequential judge", () => {
  const judged = {
    metadata: { namespace: "demo", name: "podinfo" },
    status: {
      phase: "Failed",
      judge: { revision: "r2", warm: true, metrics: [], canaryRequests: 41, canaryFailed: 3 },
      checks: [
        {
          name: "request-success-rate",
          kind: "metric",
          outcome: "fail",
          unit: "%",
          value: 92.68,
          primaryValue: 99.9,
          threshold: {},
          message:
            "canary 92.68 % vs primary 99.9 %, 73× (at least 4.1×): regression, E = 812 of 100",
          measuredAt: "2026-11-22T05:59:58Z",
          judge: { decision: "harm", eValue: 812, effect: 73, bound: 4.1, canaryRequests: 41 },
        },
        {
          name: "request-duration",
          kind: "metric",
          outcome: "pass",
          unit: "%",
          value: 1,
          primaryValue: 1.2,
          threshold: {},
          message: "canary 1 % vs primary 1.2 % slow: within the margin, E = 0.2 of 100",
          measuredAt: "2026-11-22T05:59:58Z",
          judge: { decision: "pass", eValue: 0.2, canaryRequests: 41 },
        },
      ],
    },
  };

  it("shows what the canary answered and failed, both sides' values and the judge's evidence", () => {
    const text = statusText(rolloutView(judged), now);
    assert.match(text, /canary: {5}41 requests answered, 3 failed \(judged run\)/);
    assert.match(text, /92\.68 % \(primary 99\.9 %\)/);
    assert.match(text, /73× \(at least 4\.1×\): regression, E = 812 of 100/);
    // A judged check that passed still shows its evidence.
    assert.match(text, /within the margin, E = 0\.2 of 100/);
  });

  it("shows no canary line for a release without the judge", () => {
    assert.ok(!statusText(rolloutView(obj), now).includes("  canary: "));
  });
});
