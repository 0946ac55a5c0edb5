// Everything a reconcile reads from and writes to, as small interfaces; main.ts wires the real
// ones, tests wire in-memory ones.
import type { AnalysisResult } from "../domain/plan-model.js";
import type { RolloutSpec } from "../domain/rollout.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { RolloutStore } from "../kube/rollout-store.js";
import type { RolloutEventRecorder } from "../kube/rollout-events.js";
import type { Notifier } from "../notify/notifier.js";
import type { TrafficRouter } from "../routing/traffic-router.js";
import type { WebhookRunner } from "../analysis/webhooks.js";
import type { Workload } from "../workloads/workload.js";

/** Runs a step's checks for the canary; the planner decides how the outcome counts. */
export interface AnalysisPort {
  run(input: {
    readonly namespace: string;
    readonly name: string;
    readonly targetName: string;
    readonly spec: RolloutSpec;
    readonly now: number;
  }): Promise<AnalysisResult>;
}

/**
 * Until the metric checks are wired in: a step with no metrics passes, and a step with metrics
 * reports an error naming them, so nothing is promoted on checks that never ran.
 */
export class NoMetricsAnalysis implements AnalysisPort {
  run(input: { readonly spec: RolloutSpec; readonly now: number }): Promise<AnalysisResult> {
    const names = input.spec.analysis.metrics.map((m) => m.name);
    return Promise.resolve(
      names.length === 0
        ? { at: input.now, outcome: "pass", details: "no checks configured" }
        : {
            at: input.now,
            outcome: "error",
            details: `metric checks are not available in this build: ${names.join(", ")}`,
          },
    );
  }
}

export interface ReconcilerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: Pick<RolloutStore, "get" | "writeStatus" | "setFinalizer">;
  readonly workload: Workload;
  readonly traffic: TrafficRouter;
  readonly analysis: AnalysisPort;
  readonly webhooks: WebhookRunner;
  readonly notifier: Notifier;
  readonly events: RolloutEventRecorder;
}
