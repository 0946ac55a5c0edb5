// The Rollout as the controller reasons about it: a parsed spec (no wire types, no defaults left
// to fill) and the status it records. See crds/rollouts.vireo.dev.yaml for the wire form.
import type { FaultPolicy, HttpMatch, RetryPolicy, TrafficPolicy } from "../xds/model.js";
import type { JudgeCheck, JudgeMargin, JudgeStatus } from "./judge.js";

export type { JudgeCheck, JudgeMargin, JudgeStatus } from "./judge.js";

export interface ServiceSpec {
  /** Apex Service name; defaults to the target's name. */
  readonly name: string;
  readonly port: number;
  /** Container port (number or name) the Services target; defaults to `port`. */
  readonly targetPort: number | string;
  /** Port name on the generated Services ("http", or "grpc" for gRPC). */
  readonly portName: string;
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly trafficPolicy?: TrafficPolicy;
}

export type CanaryStep =
  | { readonly kind: "setWeight"; readonly weight: number }
  /** `durationMs` undefined: hold until promoted by hand. */
  | { readonly kind: "pause"; readonly durationMs?: number };

export type Strategy =
  /** Steps are always explicit here; the shorthand stepWeight/maxWeight/stepWeights is expanded by the parser. */
  | { readonly kind: "canary"; readonly steps: readonly CanaryStep[] }
  | {
      readonly kind: "abTesting";
      readonly matches: readonly HttpMatch[];
      readonly iterations: number;
    }
  | { readonly kind: "blueGreen"; readonly iterations: number }
  | { readonly kind: "mirroring"; readonly mirrorPercent: number; readonly iterations: number };

/** Bounds on the canary's value relative to the primary's, measured over the same window. */
export interface RelativeBounds {
  /** At most this many points (the metric's own units) below the primary: success rates. */
  readonly maxDecreasePoints?: number;
  /** At most this many percent above the primary: latencies. */
  readonly maxIncreasePercent?: number;
}

export interface MetricCheck {
  readonly name: string;
  readonly intervalMs?: number;
  readonly min?: number;
  readonly max?: number;
  readonly relativeToPrimary?: RelativeBounds;
  readonly templateRef?: { readonly name: string; readonly namespace?: string };
  readonly templateVariables?: Readonly<Record<string, string>>;
  /**
   * Set on a built-in check with neither thresholdRange nor relativeToPrimary: the sequential
   * judge holds the canary to the primary within this margin (docs/analysis.md).
   */
  readonly judge?: { readonly margin: JudgeMargin };
}

export type WebhookType =
  | "confirm-rollout"
  | "pre-rollout"
  | "rollout"
  | "confirm-traffic-increase"
  | "confirm-promotion"
  | "post-rollout"
  | "rollback"
  | "event";

export const WEBHOOK_TYPES: readonly WebhookType[] = [
  "confirm-rollout",
  "pre-rollout",
  "rollout",
  "confirm-traffic-increase",
  "confirm-promotion",
  "post-rollout",
  "rollback",
  "event",
];

export interface WebhookSpec {
  readonly name: string;
  readonly type: WebhookType;
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Gates (confirm-*) fail after this long instead of waiting forever; undefined: wait. */
  readonly deadlineMs?: number;
}

export interface AnalysisSpec {
  readonly intervalMs: number;
  /** Failed checks that trigger a rollback. */
  readonly threshold: number;
  readonly metrics: readonly MetricCheck[];
  readonly webhooks: readonly WebhookSpec[];
  /**
   * Metric checks report no data, rather than a value, while the canary has received fewer
   * requests than this in the check's window. Left out, every request counts.
   */
  readonly minRequests?: number;
  /** The sequential judge's false-rollback budget for a whole release; absent: 0.01. */
  readonly alpha?: number;
  /** The sequential judge's chance of passing a metric outside its margin; absent: 0.05. */
  readonly passAlpha?: number;
}

export interface AlertSpec {
  readonly name: string;
  readonly severity: "info" | "warn" | "error";
  readonly providerRef: { readonly name: string; readonly namespace?: string };
}

export interface RolloutSpec {
  readonly targetRef: {
    readonly apiVersion: string;
    readonly kind: "Deployment";
    readonly name: string;
  };
  readonly service: ServiceSpec;
  readonly strategy: Strategy;
  readonly analysis: AnalysisSpec;
  readonly alerts: readonly AlertSpec[];
  readonly progressDeadlineSeconds: number;
  readonly skipAnalysis: boolean;
  readonly suspend: boolean;
  readonly revertOnDeletion: boolean;
  /** Cron expressions; when non-empty, a ready step advances only inside one of these windows. */
  readonly promotionWindows: readonly { readonly schedule: string; readonly durationMs: number }[];
  readonly fault?: FaultPolicy;
}

export type Phase =
  | "Initializing"
  | "Initialized"
  | "Waiting"
  | "Progressing"
  | "Paused"
  | "WaitingPromotion"
  | "Promoting"
  | "Finalising"
  | "Succeeded"
  | "Failed"
  | "Terminating";

export const PHASES: readonly Phase[] = [
  "Initializing",
  "Initialized",
  "Waiting",
  "Progressing",
  "Paused",
  "WaitingPromotion",
  "Promoting",
  "Finalising",
  "Succeeded",
  "Failed",
  "Terminating",
];

/**
 * Ready and Promoted say where the release stands; Reconciling and Stalled follow kstatus (what
 * Flux, Argo CD's health checks and `kubectl wait` read): Reconciling True while the controller is
 * still moving towards what the spec and the target ask for, Stalled True when it cannot get there
 * without someone acting. Never both True. RouteConflict, present only while it is True: a
 * Gateway API route binds the apex Service and replaces the Rollout's own routing fields there.
 */
export type ConditionType = "Ready" | "Promoted" | "Reconciling" | "Stalled" | "RouteConflict";

export const CONDITION_TYPES: readonly ConditionType[] = [
  "Ready",
  "Promoted",
  "Reconciling",
  "Stalled",
  "RouteConflict",
];

export interface Condition {
  readonly type: ConditionType;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  /**
   * metadata.generation of the spec this condition was computed from. Every plan stamps it; absent
   * only on a status written before it existed.
   */
  readonly observedGeneration?: number;
}

/** A manual request recorded on the object (annotation or spec field), consumed once. */
export type ManualAction = "promote" | "abort" | "retry";

/**
 * Something the rollout waits for: all but approval must happen on their own within
 * `progressDeadlineSeconds`; an approval waits for a human (a confirm-* gate, whose webhooks may
 * set a deadline, or a pause).
 */
export type WaitReason =
  | "canaryReady"
  | "primaryReady"
  | "targetReady"
  | "trafficVerified"
  /** The apex, primary and canary Services exist as vireo wants them. */
  | "servicesReady"
  /** The target (the canary) has scaled to zero. */
  | "targetScaledDown"
  | "approval";

export interface Wait {
  readonly reason: WaitReason;
  /** RFC 3339. */
  readonly since: string;
}

/** Where the controller sends a Service's requests: the canary's weight, matches and mirror. */
export interface TrafficRoute {
  /** Canary share of unmatched requests, 0-100. */
  readonly canaryWeight: number;
  /** Percent of primary-bound requests copied to the canary; absent when not mirroring. */
  readonly mirrorPercent?: number;
  /** Requests matching any of these go to the canary only; absent when none. */
  readonly matches?: readonly HttpMatch[];
  /**
   * Everything to the apex Service's own endpoints, neither primary nor canary: the last route of
   * a revert, so the primary and canary Services can go while no proxy sends them anything.
   */
  readonly toApex?: true;
}

export interface RolloutStatus {
  readonly phase: Phase;
  readonly observedGeneration: number;
  /** Weight the controller asked for. */
  readonly canaryWeight: number;
  /**
   * The whole route last asked for (weight, A/B matches, mirror): what a controller taking over
   * serves to the proxies from its first snapshot, before it has reconciled anything.
   */
  readonly route?: TrafficRoute;
  /** Weight every proxy routing to the Service has confirmed (ACKed). */
  readonly verifiedWeight: number;
  readonly currentStep: number;
  readonly failedChecks: number;
  readonly iterations: number;
  /** Hash of the target's pod template plus the ConfigMaps and Secrets it references. */
  readonly canaryRevision?: string;
  readonly primaryRevision?: string;
  readonly message: string;
  /** When the phase last changed (RFC 3339). */
  readonly lastTransitionTime: string;
  /** When the current step's clock started: set once its weight was verified (RFC 3339). */
  readonly stepStartedAt?: string;
  /** When the last analysis ran (RFC 3339). */
  readonly lastAnalysisAt?: string;
  /** The last manual action handled, by its request id, so none is applied twice. */
  readonly handledAction?: string;
  /** What the rollout is waiting for and since when; deadlines count from `since`. */
  readonly waitingFor?: Wait;
  /**
   * Ids of the notifications delivered, oldest first, at most NOTIFIED_LIMIT: what keeps a
   * transition from being announced twice when another replica or a restarted controller plans it
   * again.
   */
  readonly notified?: readonly string[];
  /**
   * Messages of transitions not yet sent to every provider, oldest first, at most OUTBOX_LIMIT.
   * Written in the same status write as the transition they announce, so a controller that stops
   * before sending them leaves them to the next one (src/notify/outbox.ts).
   */
  readonly outbox?: readonly OutboxEntry[];
  /**
   * Every check of the last analysis counted in this run, in the Rollout's order. Replaced when the
   * next analysis is counted (which writes the status anyway, for lastAnalysisAt), kept when the
   * run ends so a rolled-back Rollout shows the values that failed, cleared when a new run starts.
   */
  readonly checks?: readonly CheckStatus[];
  /** The sequential judge's state for this run; cleared when a new run starts. */
  readonly judge?: JudgeStatus;
  readonly conditions: readonly Condition[];
}

/** How one check came out: a value within its bounds, outside them, no value, or no answer. */
export type CheckOutcome = "pass" | "fail" | "noData" | "error";

/** The last result of one check of the current run, as the status shows it. */
export interface CheckStatus {
  readonly name: string;
  readonly kind: "metric" | "webhook";
  readonly outcome: CheckOutcome;
  /** The canary's value, when one was measured (rounded to 4 significant digits). */
  readonly value?: number;
  /** "%", "ms", or absent (templates, webhooks). */
  readonly unit?: string;
  /** The primary's value, for a check relative to it. */
  readonly primaryValue?: number;
  /** The bounds the value was held to, absolute and relative ones combined. */
  readonly threshold: { readonly min?: number; readonly max?: number };
  /** Stands alone: "request-duration 512 ms > 200 ms", or the error's text. */
  readonly message: string;
  /** When the analysis that measured it ran (RFC 3339). */
  readonly measuredAt: string;
  /** For a check the sequential judge made: its decision, e-value, effect and bound. */
  readonly judge?: JudgeCheck;
}

/** How many delivered notification ids the status keeps. */
export const NOTIFIED_LIMIT = 20;

/** Announced by the Rollout's notifications (plan-model.ts re-exports them). */
export type NotifyEvent =
  | "initialized"
  | "started"
  | "waitingApproval"
  | "promoted"
  | "rolledBack"
  | "progressDeadlineExceeded";

export type Severity = "info" | "warn" | "error";

/** An AlertProvider, by namespace and name. */
export interface ProviderRef {
  readonly namespace: string;
  readonly name: string;
}

/** One transition's message, kept in the status until every provider it goes to has it. */
export interface OutboxEntry {
  /** The transition's id (transitionId in src/notify/message.ts), sent in the webhook payload. */
  readonly id: string;
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly message: string;
  /** The revision, phase and canary weight the transition led to. */
  readonly revision: string;
  readonly phase: Phase;
  readonly weight: number;
  /** The checks of the analysis that led here, when one did. */
  readonly checks?: readonly OutboxCheck[];
  /** The providers still to be sent it, in the order they were chosen. */
  readonly pending: readonly ProviderRef[];
}

export interface OutboxCheck {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly message: string;
  readonly value?: number;
}

/** How many transitions' messages the outbox holds; older ones are dropped, and reported. */
export const OUTBOX_LIMIT = 10;
