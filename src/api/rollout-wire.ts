// The Rollout as it travels to and from the API server, field for field the schema of
// crds/rollouts.vireo.dev.yaml. Fields the schema defaults are optional here because a manifest may
// omit them; parse.ts turns this into the domain's RolloutSpec and applies the same defaults.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { OutboxEntryWire } from "./status-outbox.js";
import type {
  CheckOutcome,
  JudgeCheck,
  Phase,
  WaitReason,
  WebhookType,
} from "../domain/rollout.js";
import type { HttpMatch } from "../xds/model.js";

export const ROLLOUT_GROUP = "vireo.dev";
export const ROLLOUT_VERSION = "v1alpha1";
export const ROLLOUT_PLURAL = "rollouts";
export const ROLLOUT_API_VERSION = `${ROLLOUT_GROUP}/${ROLLOUT_VERSION}`;

/** A Go-style duration restricted to ms, s, m and h: "500ms", "30s", "1m30s", "1.5h". */
export type DurationWire = string;

export interface RolloutWire {
  apiVersion: typeof ROLLOUT_API_VERSION;
  kind: "Rollout";
  metadata: V1ObjectMeta;
  spec: RolloutSpecWire;
  status?: RolloutStatusWire;
}

export interface RolloutSpecWire {
  targetRef: { apiVersion?: "apps/v1"; kind: "Deployment"; name: string };
  service: ServiceWire;
  strategy: StrategyWire;
  analysis?: AnalysisWire;
  alerts?: AlertWire[];
  progressDeadlineSeconds?: number;
  skipAnalysis?: boolean;
  suspend?: boolean;
  revertOnDeletion?: boolean;
  promotionWindows?: { schedule: string; duration: DurationWire }[];
  fault?: FaultWire;
}

export interface ServiceWire {
  name?: string;
  port: number;
  targetPort?: number | string;
  portName?: string;
  timeout?: DurationWire;
  retries?: { attempts: number; perTryTimeout?: DurationWire; retryOn?: string };
  trafficPolicy?: TrafficPolicyWire;
}

export interface TrafficPolicyWire {
  loadBalancer?: "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH";
  connectTimeout?: DurationWire;
  circuitBreaker?: {
    maxConnections?: number;
    maxPendingRequests?: number;
    maxRequests?: number;
    maxRetries?: number;
  };
  outlierDetection?: {
    consecutive5xx?: number;
    interval?: DurationWire;
    baseEjectionTime?: DurationWire;
    maxEjectionPercent?: number;
  };
}

/** Exactly one member is set. */
export interface StrategyWire {
  canary?: CanaryWire;
  abTesting?: { match: HttpMatchWire[]; iterations: number };
  blueGreen?: { iterations: number };
  mirroring?: { mirrorPercent?: number; iterations: number };
}

/** Exactly one of steps, stepWeight (with maxWeight) or stepWeights. */
export interface CanaryWire {
  steps?: CanaryStepWire[];
  stepWeight?: number;
  maxWeight?: number;
  stepWeights?: number[];
}

/** Exactly one of setWeight or pause. */
export interface CanaryStepWire {
  setWeight?: number;
  pause?: { duration?: DurationWire };
}

/** Istio's HTTPMatchRequest; a cookie is matched with a regex on the `cookie` header. */
export interface HttpMatchWire {
  headers?: Record<string, StringMatchWire>;
  uri?: StringMatchWire;
  queryParams?: Record<string, StringMatchWire>;
}

/** Exactly one member is set. */
export interface StringMatchWire {
  exact?: string;
  prefix?: string;
  suffix?: string;
  regex?: string;
  present?: true;
}

export interface AnalysisWire {
  interval?: DurationWire;
  threshold?: number;
  metrics?: MetricWire[];
  webhooks?: WebhookWire[];
  minRequests?: number;
  /** The sequential judge's false-rollback budget per release (0.01). */
  alpha?: number;
  /** Its chance of passing a metric outside the margin (0.05). */
  passAlpha?: number;
}

export interface MetricWire {
  name: string;
  interval?: DurationWire;
  /** Required for a template unless relativeToPrimary is set; a built-in without either is judged sequentially. */
  thresholdRange?: { min?: number; max?: number };
  /** The sequential judge's margin: "0.5%" or "1.5x" for errors, "20ms" or "10%" for latency. */
  maxIncrease?: string;
  relativeToPrimary?: { maxDecreasePoints?: number; maxIncreasePercent?: number };
  templateRef?: ObjectRefWire;
  templateVariables?: Record<string, string>;
}

export interface WebhookWire {
  name: string;
  type?: WebhookType;
  url: string;
  timeout?: DurationWire;
  retries?: number;
  metadata?: Record<string, string>;
  deadline?: DurationWire;
}

export interface AlertWire {
  name: string;
  severity?: "info" | "warn" | "error";
  providerRef: ObjectRefWire;
}

export interface ObjectRefWire {
  name: string;
  namespace?: string;
}

export interface FaultWire {
  abort?: { percent: number; httpStatus?: number; grpcStatus?: number };
  delay?: { percent: number; fixedDelay: DurationWire };
}

/** Written by the controller only; every field may be missing on an object not yet reconciled. */
export interface RolloutStatusWire {
  phase?: Phase;
  observedGeneration?: number;
  canaryWeight?: number;
  route?: TrafficRouteWire;
  verifiedWeight?: number;
  currentStep?: number;
  failedChecks?: number;
  iterations?: number;
  canaryRevision?: string;
  primaryRevision?: string;
  message?: string;
  lastTransitionTime?: string;
  stepStartedAt?: string;
  lastAnalysisAt?: string;
  handledAction?: string;
  waitingFor?: { reason: WaitReason; since: string };
  notified?: string[];
  outbox?: OutboxEntryWire[];
  checks?: CheckStatusWire[];
  /** The sequential judge's state (src/domain/judge.ts), as JSON. */
  judge?: Record<string, unknown>;
  conditions?: ConditionWire[];
}

/** status.route: the domain's TrafficRoute as JSON (matches in the control plane's form). */
export interface TrafficRouteWire {
  canaryWeight: number;
  mirrorPercent?: number;
  matches?: HttpMatch[];
  toApex?: true;
}

/** One check's last result (status.checks[]). */
export interface CheckStatusWire {
  name: string;
  kind: "metric" | "webhook";
  outcome: CheckOutcome;
  value?: number;
  unit?: string;
  primaryValue?: number;
  threshold: { min?: number; max?: number };
  message: string;
  measuredAt: string;
  judge?: JudgeCheck;
}

export interface ConditionWire {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}
