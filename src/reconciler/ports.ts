// Everything a reconcile reads from and writes to, as small interfaces; main.ts wires the real
// ones, tests wire in-memory ones.
import type { AnalysisResult } from "../domain/plan-model.js";
import type { RolloutSpec } from "../domain/rollout.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { RolloutStore } from "../kube/rollout-store.js";
import type { RolloutEventRecorder } from "../kube/rollout-events.js";
import type { Notifier } from "../notify/notifier.js";
import type { StatusSentLog } from "../notify/sent-log.js";
import type { TrafficRouter } from "../routing/traffic-router.js";
import type { WebhookRunner } from "../analysis/webhooks.js";
import type { Inquiries } from "./inquiries.js";
import type { MetricProvider } from "../analysis/prometheus.js";
import type { AnalysisInput, AnalysisRunner } from "../analysis/runner.js";
import { checkResults } from "../analysis/check-results.js";
import type { JudgeContext } from "../analysis/sequential-checks.js";
import type { Workload } from "../workloads/workload.js";

export interface AnalysisRequest {
  readonly namespace: string;
  readonly name: string;
  readonly targetName: string;
  readonly spec: RolloutSpec;
  readonly now: number;
  readonly phase: string;
  readonly revision: string;
  /** For the sequential judge: the run's state, the confirmed weight and the step. */
  readonly judge?: JudgeContext;
}

/** Runs a step's checks for the canary; the planner decides how the outcome counts. */
export interface AnalysisPort {
  run(input: AnalysisRequest): Promise<AnalysisResult>;
}

/**
 * Checks through the analysis runner: metrics from Prometheus (or a MetricTemplate's provider)
 * and `rollout` webhooks. Without a Prometheus address, built-in metric checks report an error
 * naming the missing setting, so nothing is promoted on checks that never ran.
 */
export class RunnerAnalysis implements AnalysisPort {
  constructor(
    private readonly runner: AnalysisRunner,
    private readonly resolveTemplate: AnalysisInput["resolveTemplate"],
  ) {}

  async run(r: AnalysisRequest): Promise<AnalysisResult> {
    const report = await this.runner.run({
      namespace: r.namespace,
      rolloutName: r.name,
      targetName: r.targetName,
      primaryName: `${r.targetName}-primary`,
      service: r.spec.service.name,
      spec: r.spec.analysis,
      windowMs: r.spec.analysis.intervalMs,
      now: r.now,
      phase: r.phase,
      revision: r.revision,
      resolveTemplate: this.resolveTemplate,
      ...(r.judge === undefined ? {} : { judge: r.judge }),
    });
    return {
      at: report.at,
      outcome: report.outcome,
      details: report.message,
      checks: checkResults(report.checks),
      ...(report.sequential === undefined ? {} : { sequential: report.sequential }),
    };
  }
}

/** A metric source for a controller started without `--prometheus-url`. */
export const NO_PROMETHEUS: MetricProvider = {
  query: () =>
    Promise.resolve({
      kind: "error",
      code: "unreachable",
      message: "no Prometheus configured: start the controller with --prometheus-url",
    }),
};

export interface ReconcilerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: Pick<RolloutStore, "get" | "writeStatus" | "setFinalizer">;
  readonly workload: Workload;
  readonly traffic: TrafficRouter;
  readonly analysis: AnalysisPort;
  readonly webhooks: WebhookRunner;
  /** Where the checks and gate webhooks run, off the reconcile path. */
  readonly inquiries: Inquiries;
  readonly notifier: Notifier;
  /** Which notifications were settled or handed over, so that each is sent once (the outbox). */
  readonly sentLog: Pick<StatusSentLog, "observed" | "settled" | "claim">;
  readonly events: RolloutEventRecorder;
}
