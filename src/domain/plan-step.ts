// Holding one step of a release: its route must be confirmed by every proxy before the step's
// clock starts; analysis then runs every interval, each failed check counts, and enough of them
// roll back. Shared by Progressing, Paused and WaitingPromotion.
import type { Action, GateType } from "./plan-model.js";
import type { Ctx, Step, StayOptions } from "./plan-support.js";
import {
  ask,
  deadlineText,
  event,
  hasWebhooks,
  iso,
  pastProgressDeadline,
  stay,
  targetName,
  withEffects,
  unconfirmed,
} from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import { analysed, routeAt, stepAt } from "./run-steps.js";
import { describeRoute, sameRoute } from "./traffic-route.js";
import { revisionChange, rollback, toPaused } from "./transitions.js";

/** Re-asserted while a release runs, in case something scaled the canary down. */
export const SCALE_UP: Action = { kind: "scaleCanaryUp" };

/** What ends any active phase first: a new revision, or a rollback webhook that fired. */
export function interrupted(c: Ctx, s: RolloutStatus): Step | undefined {
  const changed = revisionChange(c, s);
  if (changed !== undefined) return changed;
  if (c.o.gates.rollback === "open") {
    return rollback(c, s, "RollbackWebhook", "a rollback webhook asked for it");
  }
  return undefined;
}

export interface Supervised {
  readonly kind: "supervised";
  /** With stepStartedAt set and the latest analysis counted. */
  readonly status: RolloutStatus;
  readonly effects: readonly Action[];
  /** runAnalysis (and the rollback webhooks) when an analysis is due. */
  readonly queries: readonly Action[];
  /** When the next analysis is due; undefined when this step is not analysed. */
  readonly nextDueAt: number | undefined;
}

interface SuperviseOptions {
  /** Count passed analyses into `iterations` (traffic steps only). */
  readonly countPasses: boolean;
  readonly actions: readonly Action[];
  /** While paused no deadline runs. */
  readonly paused?: boolean;
}

/**
 * Holds step `index`'s route until every proxy confirms it, starts the step clock then, and runs
 * the analysis every interval after it: a failed check counts, and enough of them roll back.
 */
export function supervise(
  c: Ctx,
  s: RolloutStatus,
  index: number,
  where: string,
  options: SuperviseOptions,
): Step | Supervised {
  const route = routeAt(c.steps, index);
  if (!sameRoute(c.o.traffic.verified, route)) {
    if (options.paused !== true && pastProgressDeadline(c, s, "trafficVerified")) {
      return rollback(
        c,
        s,
        "ProgressDeadlineExceeded",
        `proxies did not confirm ${describeRoute(route)} within ${deadlineText(c)}${unconfirmed(c, route)}`,
      );
    }
    return stay(
      s,
      `${where}: waiting for every proxy to confirm ${describeRoute(route)}${unconfirmed(c, route)}`,
      {
        actions: options.actions,
        route,
        ...(options.paused === true ? {} : { wait: "trafficVerified" as const }),
      },
    );
  }
  const stepStartedAt = s.stepStartedAt ?? c.nowIso;
  let cur: RolloutStatus = { ...s, stepStartedAt };
  if (!analysed(stepAt(c.steps, index))) {
    return { kind: "supervised", status: cur, effects: [], queries: [], nextDueAt: undefined };
  }
  const started = Date.parse(stepStartedAt);
  const effects: Action[] = [];
  const r = c.o.analysis;
  const last = cur.lastAnalysisAt === undefined ? undefined : Date.parse(cur.lastAnalysisAt);
  if (r !== undefined && (last === undefined || r.at > last) && r.at >= started) {
    const measuredAt = iso(r.at);
    const judged = r.sequential;
    cur = {
      ...cur,
      lastAnalysisAt: measuredAt,
      ...(r.checks === undefined ? {} : { checks: r.checks.map((k) => ({ ...k, measuredAt })) }),
      ...(judged === undefined ? {} : { judge: judged.state }),
    };
    if (judged?.decision === "harm") {
      // The sequential judge's evidence is valid at any moment: roll back now, not after
      // `threshold` intervals (docs/analysis.md).
      const text = `the sequential judge found a regression: ${judged.message}`;
      return withEffects(
        [
          event(
            "Warning",
            "AnalysisFailed",
            `Analysis of ${targetName(c)} revision ${cur.canaryRevision ?? ""} at ${where}: ${text}`,
          ),
        ],
        rollback(c, cur, "FailedChecks", text),
      );
    }
    // No data and errors count as failed checks, so a silent canary is never promoted. A Rollout
    // that wants them counted otherwise has the analysis map them before they reach the planner.
    // The sequential judge's own checks are not in `outcome`: inconclusive waits for requests.
    if (r.outcome === "pass") {
      const passed = judged === undefined || judged.decision === "pass";
      if (passed && options.countPasses) cur = { ...cur, iterations: cur.iterations + 1 };
    } else {
      cur = { ...cur, failedChecks: cur.failedChecks + 1 };
      const text = `Analysis of ${targetName(c)} revision ${cur.canaryRevision ?? ""} at ${where}: ${OUTCOME[r.outcome]} (${cur.failedChecks}/${c.spec.analysis.threshold} failed checks): ${r.details}`;
      effects.push(event("Warning", "AnalysisFailed", text));
      if (cur.failedChecks >= c.spec.analysis.threshold) {
        return withEffects(
          effects,
          rollback(
            c,
            cur,
            "FailedChecks",
            `${cur.failedChecks} failed checks reached the threshold of ${c.spec.analysis.threshold}; last: ${OUTCOME[r.outcome]}: ${r.details}`,
          ),
        );
      }
    }
  }
  // Only traffic steps wait for evidence; a timed pause ends on its clock.
  const starved = options.countPasses
    ? insufficientEvidence(c, cur, started, options.paused === true)
    : undefined;
  if (starved !== undefined) return withEffects(effects, toPaused(c, cur, starved, false));
  const lastNow = cur.lastAnalysisAt === undefined ? started : Date.parse(cur.lastAnalysisAt);
  const dueAt = Math.max(started, lastNow) + analysisCadence(c);
  const queries: Action[] =
    c.now >= dueAt
      ? [
          { kind: "runAnalysis", revision: cur.canaryRevision ?? c.target.revision, step: index },
          ...askRollbackHook(c),
        ]
      : [];
  return { kind: "supervised", status: cur, effects, queries, nextDueAt: dueAt };
}

/**
 * The sequential judge stays inconclusive past the progress deadline (counted from the step's
 * start, or from the last resume): pause with its numbers rather than pass or fail a canary on
 * too little evidence. Resuming grants another deadline; promoting by hand decides for it.
 */
function insufficientEvidence(
  c: Ctx,
  s: RolloutStatus,
  started: number,
  paused: boolean,
): string | undefined {
  if (paused || s.phase !== "Progressing") return undefined;
  const waiting = (s.checks ?? []).filter((k) => k.judge?.decision === "inconclusive");
  if (waiting.length === 0) return undefined;
  const since = Math.max(started, Date.parse(s.lastTransitionTime) || 0);
  if (c.now < since + c.spec.progressDeadlineSeconds * 1000) return undefined;
  return `InsufficientEvidence: no decision within ${deadlineText(c)}: ${waiting.map((k) => k.message).join("; ")}`;
}

const OUTCOME = {
  pass: "passed",
  fail: "failed",
  noData: "no data",
  error: "error",
} as const;

/** Rollback webhooks are polled with each analysis (and with confirm-rollout while Waiting). */
export function askRollbackHook(c: Ctx): Action[] {
  return hasWebhooks(c.spec, "rollback") && c.o.gates.rollback === undefined
    ? [ask("rollback")]
    : [];
}

/**
 * A gate whose webhooks gave no answer (a timeout, 5xx after their retries): a failed check, as a
 * failing pre-rollout hook is. At the threshold the release rolls back; below it the traffic stays
 * where it is and the gate is asked again after an interval. A refusal (4xx) is not this: it keeps
 * the gate closed, as Flagger's load tester answers 403 for a closed gate.
 */
export function gateFailed(
  c: Ctx,
  s: RolloutStatus,
  type: GateType,
  options: StayOptions = {},
): Step {
  const cur: RolloutStatus = { ...s, failedChecks: s.failedChecks + 1 };
  const threshold = c.spec.analysis.threshold;
  const text = `${type} webhooks did not answer (${String(cur.failedChecks)}/${String(threshold)} failed checks)`;
  const effects = [...(options.effects ?? []), event("Warning", "GateFailed", text)];
  if (cur.failedChecks >= threshold) {
    return withEffects(effects, rollback(c, cur, "GateFailed", text));
  }
  return stay(cur, text, {
    ...options,
    effects,
    wakeAt: Math.min(options.wakeAt ?? Infinity, c.now + interval(c)),
  });
}

export function interval(c: Ctx): number {
  return c.spec.analysis.intervalMs;
}

/**
 * How often a traffic step runs its analysis: every `interval`, except that an analysis made
 * only by the sequential judge (every metric judged, no `rollout` webhooks) reads at least every
 * JUDGE_READ_INTERVAL_MS. The judge's evidence is valid at any moment and its counts come from
 * the proxies, not a scrape, so a shorter wait is fewer failed requests before a rollback.
 */
export const JUDGE_READ_INTERVAL_MS = 1_000;

export function analysisCadence(c: Ctx): number {
  const a = c.spec.analysis;
  const judgedOnly =
    a.metrics.length > 0 &&
    a.metrics.every((m) => m.judge !== undefined) &&
    !a.webhooks.some((w) => w.type === "rollout");
  return judgedOnly ? Math.min(a.intervalMs, JUDGE_READ_INTERVAL_MS) : a.intervalMs;
}

export function wake(at: number | undefined): { wakeAt?: number } {
  return at === undefined || !Number.isFinite(at) ? {} : { wakeAt: at };
}
