// Every strategy as one list of steps, so the planner runs canary, A/B, blue/green and mirroring
// alike. Status `currentStep` is 1-based into this list; 0 is the canary scaling up.
import { assertNever } from "../common/assert-never.js";
import type { TrafficRoute } from "./plan-model.js";
import type { RolloutSpec, RolloutStatus } from "./rollout.js";
import { carriesTraffic, describeRoute, PRIMARY_ONLY } from "./traffic-route.js";

export type RunStep =
  /** Route, then hold until `passes` analyses passed. */
  | { readonly kind: "traffic"; readonly route: TrafficRoute; readonly passes: number }
  /** Keep the previous route for `durationMs`, or until promoted by hand when undefined. */
  | { readonly kind: "pause"; readonly route: TrafficRoute; readonly durationMs?: number };

export function runSteps(spec: RolloutSpec): readonly RunStep[] {
  if (spec.skipAnalysis) return [];
  const s = spec.strategy;
  switch (s.kind) {
    case "canary": {
      let route = PRIMARY_ONLY;
      return s.steps.map((step): RunStep => {
        if (step.kind === "setWeight") {
          route = { canaryWeight: step.weight };
          return { kind: "traffic", route, passes: 1 };
        }
        return step.durationMs === undefined
          ? { kind: "pause", route }
          : { kind: "pause", route, durationMs: step.durationMs };
      });
    }
    case "abTesting":
      return [
        { kind: "traffic", route: { canaryWeight: 0, matches: s.matches }, passes: s.iterations },
      ];
    case "blueGreen":
      return [{ kind: "traffic", route: PRIMARY_ONLY, passes: s.iterations }];
    case "mirroring":
      return [
        {
          kind: "traffic",
          route: { canaryWeight: 0, mirrorPercent: s.mirrorPercent },
          passes: s.iterations,
        },
      ];
    default:
      return assertNever(s, "strategy");
  }
}

/** The step being run, clamped to the list (a spec edit may have shortened it). */
export function stepIndex(steps: readonly RunStep[], status: RolloutStatus): number {
  return Math.max(0, Math.min(status.currentStep, steps.length));
}

export function stepAt(steps: readonly RunStep[], index: number): RunStep | undefined {
  return index === 0 ? undefined : steps[index - 1];
}

/** The route of step `index`; the primary alone while the canary scales up. */
export function routeAt(steps: readonly RunStep[], index: number): TrafficRoute {
  return stepAt(steps, index)?.route ?? PRIMARY_ONLY;
}

/**
 * Whether analysis runs during a step: always on traffic steps (blue/green analyses a canary that
 * only test traffic reaches), on pauses only while the canary takes requests.
 */
export function analysed(step: RunStep | undefined): boolean {
  if (step === undefined) return false;
  return step.kind === "traffic" || carriesTraffic(step.route);
}

export function describeStep(step: RunStep, index: number, total: number): string {
  const where = `Step ${index}/${total}`;
  switch (step.kind) {
    case "traffic":
      return `${where} (${describeRoute(step.route)})`;
    case "pause":
      return step.durationMs === undefined
        ? `${where} (pause until promoted)`
        : `${where} (pause ${formatDuration(step.durationMs)})`;
    default:
      return assertNever(step, "step");
  }
}

/** 90_000 → "1m30s"; 7_200_000 → "2h". Whole seconds, rounded up. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h > 0 ? `${h}h` : "", m > 0 ? `${m}m` : "", s > 0 ? `${s}s` : ""].join("");
  return parts === "" ? "0s" : parts;
}
