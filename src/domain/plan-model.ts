// The planner's inputs and outputs: what the reconciler observed of one Rollout, and the actions
// plus the new status that `plan` returns for it.
import type {
  CheckOutcome,
  CheckStatus,
  JudgeStatus,
  ManualAction,
  NotifyEvent,
  RolloutSpec,
  RolloutStatus,
  Severity,
  TrafficRoute,
  WebhookType,
} from "./rollout.js";

/**
 * A spec the parser refused. The planner reports it and holds; `fallback` is the same spec with
 * its strategy and analysis left out (when the rest parses), enough to roll a release back.
 */
export interface InvalidSpec {
  readonly invalid: true;
  readonly reason: string;
  readonly message: string;
  readonly fallback?: RolloutSpec;
}

/** The target Deployment, which is also the canary. */
export type ObservedTarget =
  | { readonly exists: false }
  | {
      readonly exists: true;
      /** Hash of the pod template plus the ConfigMaps and Secrets it references. */
      readonly revision: string;
      /** spec.replicas > 0. */
      readonly scaledUp: boolean;
      /** Every desired replica updated and available at the current generation. */
      readonly ready: boolean;
      /** The Deployment's own Progressing=False/ProgressDeadlineExceeded condition. */
      readonly progressDeadlineExceeded: boolean;
    };

export type ObservedPrimary =
  | { readonly exists: false }
  | {
      readonly exists: true;
      /** The revision the primary's template was copied from. */
      readonly revision: string;
      readonly ready: boolean;
      readonly progressDeadlineExceeded: boolean;
    };

/** Each true when the Service exists with the spec vireo wants. */
export interface ObservedServices {
  readonly apex: boolean;
  readonly primary: boolean;
  readonly canary: boolean;
  /**
   * The apex selects the target's pods again (a revert gave it back) and its endpoints are only
   * target pods, at least one ready. Absent: false.
   */
  readonly apexOnTarget?: boolean;
}

export interface ObservedTraffic {
  /** What the control plane was last asked to route; undefined when it holds nothing for this apex. */
  readonly requested: TrafficRoute | undefined;
  /** The route every proxy serving the apex has acknowledged; undefined while none is known. */
  readonly verified: TrafficRoute | undefined;
  /**
   * The control plane routes the apex with a policy (timeout, retries, traffic policy, fault) other
   * than the spec's: the spec was edited since. Absent: false.
   */
  readonly policyStale?: boolean;
  /** While `requested` is not yet `verified`: which proxies it waits for (TrafficState.waitingOn). */
  readonly waitingOn?: string;
  /** Gateway API routes attached to the apex Service (TrafficState.boundBy); absent: none. */
  readonly boundBy?: readonly string[];
}

export type AnalysisOutcome = CheckOutcome;

/** One check's result as the analysis port reports it; the planner stamps `measuredAt`. */
export type CheckResult = Omit<CheckStatus, "measuredAt">;

/** The latest analysis the reconciler ran; the planner counts each `at` once. */
export interface AnalysisResult {
  /** When it ran (ms since the epoch). */
  readonly at: number;
  readonly outcome: AnalysisOutcome;
  /** Human-readable values and thresholds, for events. */
  readonly details: string;
  /** Each check's value, threshold and outcome, for the status; absent when the port has none. */
  readonly checks?: readonly CheckResult[];
  /**
   * The sequential judge's decision over the whole run so far, when the Rollout has checks it
   * makes; `outcome` then covers the other checks only. Harm rolls back at once; inconclusive
   * neither passes nor fails, and the step waits for more requests.
   */
  readonly sequential?: {
    readonly decision: "harm" | "pass" | "inconclusive";
    /** For status.judge. */
    readonly state: JudgeStatus;
    readonly message: string;
  };
}

/** Webhook types whose answers the planner waits for. */
export type GateType =
  "confirm-rollout" | "confirm-traffic-increase" | "confirm-promotion" | "pre-rollout" | "rollback";

export const GATE_TYPES: readonly GateType[] = [
  "confirm-rollout",
  "confirm-traffic-increase",
  "confirm-promotion",
  "pre-rollout",
  "rollback",
];

/**
 * One gate's answer. confirm-*: open lets the rollout go on. pre-rollout: open means it passed.
 * rollback: open means roll back now. failed: the webhooks gave up (for a confirm-*, a rollback).
 */
export type GateState = "open" | "closed" | "failed";

export type ManualRequestAction = ManualAction | "pause" | "resume";

/** A user's request (annotation `vireo.dev/action`), applied once per id. */
export interface ManualRequest {
  readonly action: ManualRequestAction;
  readonly id: string;
}

export interface Observed {
  readonly spec: RolloutSpec | InvalidSpec;
  readonly generation: number;
  /** undefined: never reconciled. */
  readonly status: RolloutStatus | undefined;
  readonly target: ObservedTarget;
  readonly primary: ObservedPrimary;
  readonly services: ObservedServices;
  readonly traffic: ObservedTraffic;
  readonly analysis: AnalysisResult | undefined;
  /**
   * Answers to the gate queries (`runWebhooks` of a GateType) made during this reconcile; a gate
   * the planner needs and finds unanswered here is asked again.
   */
  readonly gates: Readonly<Partial<Record<GateType, GateState>>>;
  readonly manual: ManualRequest | undefined;
  /** deletionTimestamp is set and vireo's finalizer is still on the object. */
  readonly deleting: boolean;
  /** True when the spec has no promotion windows or one of them is open now. */
  readonly inPromotionWindow: boolean;
}

export type { NotifyEvent, Severity, TrafficRoute } from "./rollout.js";

export type Action =
  /** Create the primary from the target's template, which must still be `fromRevision`. */
  | { readonly kind: "ensurePrimary"; readonly fromRevision: string }
  | { readonly kind: "ensureServices" }
  | { readonly kind: "scaleTargetToZero" }
  | { readonly kind: "scaleCanaryUp" }
  | { readonly kind: "scaleCanaryDown" }
  | { readonly kind: "setTraffic"; readonly route: TrafficRoute }
  /** Copy the target's template to the primary; refuse if the target is no longer `revision`. */
  | { readonly kind: "promote"; readonly revision: string }
  /** Query: run the checks for `revision` at `step`; the result comes back as `Observed.analysis`. */
  | { readonly kind: "runAnalysis"; readonly revision: string; readonly step: number }
  /** For a GateType a query (answer in `Observed.gates`); otherwise fire and forget. */
  | { readonly kind: "runWebhooks"; readonly type: WebhookType }
  | {
      readonly kind: "notify";
      readonly event: NotifyEvent;
      readonly severity: Severity;
      readonly message: string;
    }
  | {
      readonly kind: "recordEvent";
      readonly type: "Normal" | "Warning";
      readonly reason: string;
      readonly message: string;
    }
  /** Scale the target back up to the replicas it had (revert on deletion). */
  | { readonly kind: "revertTarget" }
  /** Point the apex Service at the target's pods again (revert on deletion). */
  | { readonly kind: "restoreApex" }
  /** Delete the primary Deployment, its Service and its ConfigMap/Secret copies. */
  | { readonly kind: "removePrimary" }
  | { readonly kind: "removeCanaryService" }
  /** Forget the apex's routing: proxies route it to its own endpoints. */
  | { readonly kind: "clearTraffic" }
  | { readonly kind: "removeFinalizer" }
  | { readonly kind: "requeueAfter"; readonly ms: number };

export interface Plan {
  /** In the order they are to be applied. */
  readonly actions: readonly Action[];
  /** The whole new status; write it when it differs from the old one. */
  readonly status: RolloutStatus;
}

/**
 * Queries are answered within the reconcile that asked: run them, add the answers to the observed
 * state and plan again (the plan is deterministic, so the second one supersedes the first).
 */
export function isQuery(action: Action): boolean {
  if (action.kind === "runAnalysis") return true;
  if (action.kind !== "runWebhooks") return false;
  return GATE_TYPES.some((t) => t === action.type);
}

export function isInvalidSpec(spec: RolloutSpec | InvalidSpec): spec is InvalidSpec {
  return "invalid" in spec;
}
