// The built-in checks the sequential judge makes (a built-in with neither thresholdRange nor
// relativeToPrimary): read the canary's and the primary's counters, fold them into the run's
// state, judge the run, and report each metric with its values, effect, bound and e-value.
import type { JudgeCheck, JudgeStatus } from "../domain/judge.js";
import type { AnalysisSpec, MetricCheck } from "../domain/rollout.js";
import type { CountScope, CountSource } from "./counts.js";
import type { CheckReport } from "./judge.js";
import { formatNumber } from "./judge.js";
import { DURATION_EDGES_MS } from "./sequential/latency-pairs.js";
import type { JudgeConfig, JudgedMetric, MetricJudgement } from "./sequential/run-state.js";
import {
  advance,
  edgesToRead,
  emptyState,
  judgeRun,
  needsPairs,
  PAIR_WINDOW_REQUESTS,
  pairWindowRequests,
  placePairs,
} from "./sequential/run-state.js";

/** Defaults (docs/analysis.md): the same as the research note's and the benchmark's. */
export const JUDGE_ALPHA = 0.01;
export const JUDGE_PASS_ALPHA = 0.05;
export const WARMUP_REQUESTS = 20;
export const MIN_STEP_REQUESTS = 50;

/** What the judge needs from the run beyond the spec. */
export interface JudgeContext {
  /** status.judge as last written, if any. */
  readonly state: JudgeStatus | undefined;
  /** The canary weight every proxy confirmed (0-100). */
  readonly weight: number;
  /** The current step (status.currentStep). */
  readonly step: number;
}

export interface SequentialOutcome {
  readonly decision: "harm" | "pass" | "inconclusive";
  readonly state: JudgeStatus;
  readonly message: string;
}

export interface JudgedRun {
  readonly reports: readonly CheckReport[];
  readonly outcome: SequentialOutcome;
}

export function isJudged(check: MetricCheck): boolean {
  return check.judge !== undefined;
}

export function judgeConfig(spec: AnalysisSpec): JudgeConfig {
  return {
    metrics: spec.metrics.flatMap((m) =>
      m.judge === undefined ? [] : [{ name: m.name as JudgedMetric, margin: m.judge.margin }],
    ),
    settings: {
      alphaHarm: spec.alpha ?? JUDGE_ALPHA,
      alphaPass: spec.passAlpha ?? JUDGE_PASS_ALPHA,
    },
    warmupRequests: WARMUP_REQUESTS,
    minStepRequests: spec.minRequests ?? MIN_STEP_REQUESTS,
  };
}

export interface JudgeInput {
  readonly spec: AnalysisSpec;
  readonly revision: string;
  readonly canary: CountScope;
  readonly primary: CountScope;
  readonly now: number;
  readonly context: JudgeContext;
}

export async function runJudged(source: CountSource, input: JudgeInput): Promise<JudgedRun> {
  const config = judgeConfig(input.spec);
  const { context, now } = input;
  let state =
    context.state?.revision === input.revision ? context.state : emptyState(input.revision, config);
  const failed = (message: string): JudgedRun => ({
    reports: config.metrics.map((m) => ({
      name: m.name,
      kind: "metric",
      threshold: {},
      outcome: "error",
      message: `${m.name}: ${message}`,
    })),
    outcome: { decision: "inconclusive", state, message },
  });
  const edges = source.edges ?? DURATION_EDGES_MS;
  const placing = needsPairs(state);
  const le = edgesToRead(state, edges);
  const [canary, primary] = await Promise.all([
    source.counts(input.canary, le, now),
    source.counts(input.primary, le, now),
  ]);
  if (canary.kind === "error") return failed(`reading the canary's counters: ${canary.message}`);
  if (primary.kind === "error") return failed(`reading the primary's counters: ${primary.message}`);
  state = advance(
    state,
    {
      at: new Date(now).toISOString(),
      weight: context.weight,
      canary: canary.counts,
      primary: primary.counts,
    },
    context.step,
    config,
  );
  if (placing) state = placePairs(state, config, primary.counts, edges);
  const run = judgeRun(state, config, context.step);
  const reports = run.metrics.map((m) => report(m, state, config));
  const decisive =
    run.decision.outcome === "harm"
      ? reports.find((r) => r.name === (run.decision.outcome === "harm" ? run.decision.metric : ""))
      : undefined;
  const message =
    decisive?.message ??
    `${run.decision.outcome} (E = ${formatE(Math.exp(run.decision.logE))} of ${formatE(1 / config.settings.alphaHarm)})`;
  return { reports, outcome: { decision: run.decision.outcome, state, message } };
}

const OUTCOME = { harm: "fail", pass: "pass", inconclusive: "noData" } as const;

function formatE(e: number): string {
  if (!Number.isFinite(e)) return String(e);
  return e >= 1000 ? e.toExponential(2) : formatNumber(e);
}

function pct(x: number): string {
  return `${formatNumber(100 * x)} %`;
}

function report(m: MetricJudgement, state: JudgeStatus, config: JudgeConfig): CheckReport {
  const e = m.evidence;
  const eValue = Math.exp(e.logEHarm);
  const needE = 1 / config.settings.alphaHarm;
  const margin = config.metrics.find((x) => x.name === m.name)?.margin;
  let values: Pick<CheckReport, "value" | "primaryValue" | "unit" | "threshold">;
  let what: string;
  let effect: number | undefined;
  let bound: number | undefined;
  let requests: number;
  if (e.effect.kind === "errors") {
    const series = state.metrics.find((x) => x.name === m.name)?.series[0] ?? [];
    requests = series.reduce((n, s) => n + s.nC, 0);
    const primaryRequests = series.reduce((n, s) => n + s.nP, 0);
    const c = 1 - e.effect.canaryRate;
    const p = 1 - e.effect.primaryRate;
    const min =
      margin?.kind === "points"
        ? 100 * p - margin.points
        : margin?.kind === "ratio"
          ? 100 * (1 - margin.ratio * e.effect.primaryRate)
          : undefined;
    values = {
      unit: "%",
      ...(requests > 0 ? { value: 100 * c } : {}),
      ...(primaryRequests > 0 ? { primaryValue: 100 * p } : {}),
      threshold: requests > 0 && primaryRequests > 0 && min !== undefined ? { min } : {},
    };
    what =
      requests === 0
        ? "no canary requests counted yet"
        : `canary ${pct(c)} vs primary ${pct(p)} success over ${Math.round(requests)} canary requests`;
    effect = e.effect.ratio;
    bound = e.effect.ratioLowerBound;
  } else {
    // The tail pair (the last) is what people ask about: the share slower than primary p99 + margin.
    const pair = e.effect.pairs.at(-1);
    const series = state.metrics.find((x) => x.name === m.name)?.series.at(-1) ?? [];
    requests = series.reduce((n, s) => n + s.nC, 0);
    if (pair === undefined) {
      values = { threshold: {} };
      what = `no latency thresholds yet: placing them from the primary's first ${PAIR_WINDOW_REQUESTS} requests of the run (${pairWindowRequests(state)} so far)`;
    } else {
      values = {
        unit: "%",
        ...(requests > 0
          ? { value: 100 * pair.canaryAbove, primaryValue: 100 * pair.primaryAbove }
          : {}),
        threshold: requests > 0 ? { max: 100 * pair.primaryAbove } : {},
      };
      const q = state.metrics.find((x) => x.name === m.name)?.pairs?.at(-1)?.quantile;
      const tail =
        pair.canaryUpper === undefined || q === undefined
          ? ""
          : ` (the canary's share slower than ${pair.canaryLe} ms at most ${pct(pair.canaryUpper)}; its p${formatNumber(100 * q)} is within it below ${pct(1 - q)})`;
      what =
        requests === 0
          ? `no canary requests counted yet${state.warm ? "" : " (warm-up)"}`
          : `canary ${pct(pair.canaryAbove)} slower than ${pair.canaryLe} ms vs primary ${pct(pair.primaryAbove)} slower than ${pair.primaryLe} ms${tail}`;
      effect = pair.ratio;
      bound = pair.ratioLowerBound;
    }
  }
  const shown =
    effect === undefined || !Number.isFinite(effect)
      ? ""
      : `, ${formatNumber(effect)}× the primary's`;
  const bounded =
    bound === undefined
      ? ""
      : ` (at least ${formatNumber(bound)}× with ${pct(1 - config.settings.alphaHarm)} confidence)`;
  const evidence = `E = ${formatE(eValue)} of ${formatE(needE)}`;
  const verdict =
    m.decision === "harm"
      ? `regression, ${evidence}`
      : m.decision === "pass"
        ? `within the margin, ${evidence}`
        : `inconclusive${m.needs === undefined ? "" : `, needs about ${m.needs} more canary requests`}, ${evidence}`;
  const judge: JudgeCheck = {
    decision: m.decision,
    eValue,
    ...(effect === undefined || !Number.isFinite(effect) ? {} : { effect }),
    ...(bound === undefined ? {} : { bound }),
    ...(m.needs === undefined ? {} : { needs: m.needs }),
    canaryRequests: Math.round(requests),
  };
  return {
    name: m.name,
    kind: "metric",
    ...values,
    outcome: OUTCOME[m.decision],
    message: `${m.name}: ${what}${shown}${bounded}: ${verdict}`,
    judge,
  };
}
