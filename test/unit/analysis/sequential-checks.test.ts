// The sequential judge's checks through the analysis runner, reading a real Prometheus that
// scrapes proxy-like metrics: the run's state carried from one analysis to the next as the
// planner carries it (status.judge), an outage rolled back, a healthy canary told how many more
// requests it needs, and an unreachable Prometheus reported as an error that decides nothing.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type { AnalysisReport } from "../../../src/analysis/judge.js";
import { PrometheusClient } from "../../../src/analysis/prometheus.js";
import type { AnalysisInput } from "../../../src/analysis/runner.js";
import { MetricAnalysisRunner } from "../../../src/analysis/runner.js";
import type { JudgeContext } from "../../../src/analysis/sequential-checks.js";
import { HttpWebhookRunner } from "../../../src/analysis/webhooks.js";
import { createLogger } from "../../../src/common/logger.js";
import type { AnalysisSpec, JudgeStatus } from "../../../src/domain/rollout.js";
import { startMeshMetrics } from "../../support/mesh-metrics.js";
import type { MeshMetrics } from "../../support/mesh-metrics.js";
import { freePort, startPrometheus } from "../../support/prometheus.js";
import type { PrometheusServer } from "../../support/prometheus.js";

const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

const SPEC: AnalysisSpec = {
  intervalMs: 10_000,
  threshold: 3,
  webhooks: [],
  metrics: [
    { name: "request-success-rate", judge: { margin: { kind: "points", points: 0.5 } } },
    { name: "request-duration", judge: { margin: { kind: "ms", ms: 20 } } },
  ],
};

describe("the sequential judge's checks", function () {
  this.timeout(60_000);
  let mesh: MeshMetrics;
  let prom: PrometheusServer;
  let runner: MetricAnalysisRunner;

  const input = (target: string, judge: JudgeContext, over: Partial<AnalysisInput> = {}) => ({
    namespace: "demo",
    rolloutName: target,
    targetName: target,
    primaryName: `${target}-primary`,
    service: target,
    spec: SPEC,
    windowMs: 10_000,
    now: Date.now(),
    phase: "Progressing",
    revision: "rev1",
    resolveTemplate: () => Promise.resolve({ ok: false as const, message: "none" }),
    judge,
    ...over,
  });

  /** Waits until Prometheus has this many more canary requests than the state's last read. */
  async function moreRequests(target: string, state: JudgeStatus, n: number): Promise<void> {
    const seen = state.cursor?.canary.requests ?? 0;
    await prom.waitFor(
      `sum(vireo_requests_total{reporter="destination",destination_workload="${target}"})`,
      (v) => v >= seen + n,
    );
  }

  before(async () => {
    const primaryLike = { rps: 20, latency: [[100, 1]] as [number, number][] };
    mesh = await startMeshMetrics([
      // An outage: 30 % 503 on the canary, 0.5 % on the primary, at a 50/50 split.
      { namespace: "demo", workload: "bad", ...primaryLike, codes: { "503": 0.3 } },
      { namespace: "demo", workload: "bad-primary", ...primaryLike, codes: { "503": 0.005 } },
      // A healthy canary: the same as its primary.
      { namespace: "demo", workload: "good", ...primaryLike, codes: { "503": 0.005 } },
      { namespace: "demo", workload: "good-primary", ...primaryLike, codes: { "503": 0.005 } },
    ]);
    prom = await startPrometheus({ targets: [mesh.target] });
    await prom.waitFor(
      'count_over_time(vireo_requests_total{destination_workload="good-primary",response_code="200"}[1m])',
      (n) => n >= 2,
    );
    runner = new MetricAnalysisRunner({
      prometheus: new PrometheusClient({ address: prom.url }),
      webhooks: new HttpWebhookRunner(log),
      log,
    });
  });

  after(async () => {
    await prom.stop();
    await mesh.close();
  });

  /** Runs analyses, carrying the state as the planner does, until `done` or 20 analyses. */
  async function analyse(
    target: string,
    done: (r: AnalysisReport) => boolean,
  ): Promise<AnalysisReport[]> {
    const reports: AnalysisReport[] = [];
    let state: JudgeStatus | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await runner.run(input(target, { state, weight: 50, step: 1 }));
      reports.push(r);
      state = r.sequential?.state;
      if (done(r) || state === undefined) break;
      await moreRequests(target, state, 40);
    }
    return reports;
  }

  it("rolls an outage back after a few reads, naming the effect and its bound", async () => {
    const reports = await analyse("bad", (r) => r.sequential?.decision === "harm");
    const first = reports[0];
    const last = reports.at(-1);
    // The first read only sets the baseline: nothing is judged on counts from before the run.
    assert.equal(first?.sequential?.decision, "inconclusive");
    assert.equal(first?.sequential?.state.dropped, 1);
    assert.equal(last?.sequential?.decision, "harm", JSON.stringify(last, null, 1));
    const errors = last.checks.find((c) => c.name === "request-success-rate");
    assert.equal(errors?.outcome, "fail");
    assert.equal(errors?.judge?.decision, "harm");
    assert.ok((errors?.judge?.eValue ?? 0) >= 100, `${errors?.judge?.eValue}`);
    assert.ok((errors?.judge?.bound ?? 0) > 1, `bound ${errors?.judge?.bound}`);
    assert.ok(Math.abs((errors?.value ?? 0) - 70) < 1, `canary ${errors?.value}`);
    assert.ok(
      Math.abs((errors?.primaryValue ?? 0) - 99.5) < 0.2,
      `primary ${errors?.primaryValue}`,
    );
    assert.match(
      errors?.message ?? "",
      /^request-success-rate: canary 70(\.\d+)? % vs primary 99\.\d+ % success over \d+ canary requests, [\d.]+× the primary's \(at least [\d.]+× with 99 % confidence\): regression, E = /,
    );
    assert.equal(last.sequential.message, errors?.message);
    // The other checks' outcome: none, so it passes; the judge alone decides.
    assert.equal(last.outcome, "pass");
    const state = last.sequential.state;
    assert.ok(state.canaryFailed > 0 && state.canaryRequests > state.canaryFailed);
  });

  it("holds a healthy canary as inconclusive, with how many more requests it needs", async () => {
    const placed = (r: AnalysisReport) =>
      r.sequential?.state.metrics.some((m) => m.pairs !== undefined) === true;
    const reports = await analyse(
      "good",
      (r) => (r.sequential?.state.canaryRequests ?? 0) >= 120 && placed(r),
    );
    // Until the primary has answered 300 requests in this run, latency has no thresholds.
    assert.match(
      reports[0]?.checks.find((c) => c.name === "request-duration")?.message ?? "",
      /^request-duration: no latency thresholds yet: placing them from the primary's first 300 requests of the run \(0 so far\)/,
    );
    const last = reports.at(-1);
    assert.equal(last?.sequential?.decision, "inconclusive");
    const errors = last.checks.find((c) => c.name === "request-success-rate");
    assert.equal(errors?.outcome, "noData");
    assert.ok((errors?.judge?.needs ?? 0) > 0, JSON.stringify(errors));
    assert.match(errors?.message ?? "", /inconclusive, needs about \d+ more canary requests/);
    const latency = last.checks.find((c) => c.name === "request-duration");
    // Thresholds placed from the primary's requests in the run: p50 of 75 ms rounds down to
    // 50 ms, + 20 ms up to 100 ms (p99, 99.5 ms, lands on the same pair).
    const pairs = last.sequential.state.metrics.find((m) => m.name === "request-duration")?.pairs;
    assert.deepEqual(pairs, [{ quantile: 0.5, primaryLe: 50, canaryLe: 100 }]);
    assert.notEqual(latency?.outcome, "fail");
  });

  it("reports an unreachable Prometheus as an error that decides nothing", async () => {
    const dead = new MetricAnalysisRunner({
      prometheus: new PrometheusClient({
        address: `http://127.0.0.1:${await freePort()}`,
        retries: 0,
      }),
      webhooks: new HttpWebhookRunner(log),
      log,
    });
    const r = await dead.run(input("good", { state: undefined, weight: 50, step: 1 }));
    assert.equal(r.sequential?.decision, "inconclusive");
    assert.deepEqual(
      r.checks.map((c) => c.outcome),
      ["error", "error"],
    );
    assert.match(
      r.checks[0]?.message ?? "",
      /^request-success-rate: reading the canary's counters: Prometheus http:\/\/127\.0\.0\.1:\d+: /,
    );
    assert.equal(r.outcome, "pass");
  });
});
