// The status of a Rollout both ways: parseStatus reads the controller's own record leniently
// (a malformed field takes its zero value), statusToWire writes it back.
import type {
  Condition,
  RolloutStatus,
  TrafficRoute,
  Wait,
  WaitReason,
} from "../domain/rollout.js";
import { CONDITION_TYPES, NOTIFIED_LIMIT, PHASES } from "../domain/rollout.js";
import { isRecord } from "./field.js";
import type { ConditionWire, RolloutStatusWire, TrafficRouteWire } from "./rollout-wire.js";
import { checksToWire, readChecks } from "./status-checks.js";
import { judgeToWire, readJudge } from "./status-judge.js";
import { outboxToWire, readOutbox } from "./status-outbox.js";

/**
 * The status of a Rollout object, or undefined when it has none the controller wrote (no status,
 * or no known phase): a never-reconciled object. Missing or malformed fields take their zero value;
 * the status is the controller's own record, so it is read leniently rather than refused.
 */
export function parseStatus(obj: unknown): RolloutStatus | undefined {
  const s = isRecord(obj) ? obj.status : undefined;
  if (!isRecord(s)) return undefined;
  const phase = PHASES.find((p) => p === s.phase);
  if (phase === undefined) return undefined;
  const int = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) ? v : 0);
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const canaryRevision = str(s.canaryRevision);
  const primaryRevision = str(s.primaryRevision);
  const stepStartedAt = str(s.stepStartedAt);
  const lastAnalysisAt = str(s.lastAnalysisAt);
  const handledAction = str(s.handledAction);
  const waitingFor = readWait(s.waitingFor);
  const notified = readNotified(s.notified);
  const outbox = readOutbox(s.outbox);
  const checks = readChecks(s.checks);
  const judge = readJudge(s.judge);
  const route = readRoute(s.route);
  return {
    phase,
    observedGeneration: int(s.observedGeneration),
    canaryWeight: int(s.canaryWeight),
    ...(route === undefined ? {} : { route }),
    verifiedWeight: int(s.verifiedWeight),
    currentStep: int(s.currentStep),
    failedChecks: int(s.failedChecks),
    iterations: int(s.iterations),
    ...(canaryRevision === undefined ? {} : { canaryRevision }),
    ...(primaryRevision === undefined ? {} : { primaryRevision }),
    message: str(s.message) ?? "",
    lastTransitionTime: str(s.lastTransitionTime) ?? "",
    ...(stepStartedAt === undefined ? {} : { stepStartedAt }),
    ...(lastAnalysisAt === undefined ? {} : { lastAnalysisAt }),
    ...(handledAction === undefined ? {} : { handledAction }),
    ...(waitingFor === undefined ? {} : { waitingFor }),
    ...(notified === undefined ? {} : { notified }),
    ...(outbox === undefined ? {} : { outbox }),
    ...(checks === undefined ? {} : { checks }),
    ...(judge === undefined ? {} : { judge }),
    conditions: (Array.isArray(s.conditions) ? s.conditions : []).flatMap(readCondition),
  };
}

/** status.route as the controller wrote it; anything else is no route (it is asked for again). */
function readRoute(r: unknown): TrafficRoute | undefined {
  if (!isRecord(r)) return undefined;
  const { canaryWeight, mirrorPercent, matches, toApex } = r;
  const percent = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= 100;
  if (!percent(canaryWeight) || !Number.isInteger(canaryWeight)) return undefined;
  if (mirrorPercent !== undefined && !percent(mirrorPercent)) return undefined;
  if (matches !== undefined && !(Array.isArray(matches) && matches.every(isRecord)))
    return undefined;
  return {
    canaryWeight,
    ...(mirrorPercent === undefined ? {} : { mirrorPercent }),
    ...(matches === undefined ? {} : { matches }),
    ...(toApex === true ? { toApex } : {}),
  };
}

/** The delivered notification ids: strings only, the newest NOTIFIED_LIMIT. */
function readNotified(list: unknown): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const ids = list.filter((id): id is string => typeof id === "string" && id !== "");
  return ids.slice(-NOTIFIED_LIMIT);
}

/** Every WaitReason (a record, so the compiler says when one is missing). */
const WAIT_REASONS: Readonly<Record<WaitReason, true>> = {
  canaryReady: true,
  primaryReady: true,
  targetReady: true,
  trafficVerified: true,
  servicesReady: true,
  targetScaledDown: true,
  approval: true,
};

function readWait(w: unknown): Wait | undefined {
  if (!isRecord(w) || typeof w.since !== "string") return undefined;
  const reason = Object.keys(WAIT_REASONS).find((r) => r === w.reason) as WaitReason | undefined;
  return reason === undefined ? undefined : { reason, since: w.since };
}

function readCondition(c: unknown): Condition[] {
  if (!isRecord(c)) return [];
  const { type, status, reason, message, lastTransitionTime, observedGeneration } = c;
  const known = CONDITION_TYPES.find((t) => t === type);
  if (known === undefined) return [];
  if (status !== "True" && status !== "False" && status !== "Unknown") return [];
  return [
    {
      type: known,
      status,
      reason: typeof reason === "string" ? reason : "",
      message: typeof message === "string" ? message : "",
      lastTransitionTime: typeof lastTransitionTime === "string" ? lastTransitionTime : "",
      ...(typeof observedGeneration === "number" && Number.isInteger(observedGeneration)
        ? { observedGeneration }
        : {}),
    },
  ];
}

/**
 * The status as the subresource stores it. Optional fields that are unset are omitted, so write it
 * whole (server-side apply or an update of /status), not as a merge patch that would keep them.
 */
export function statusToWire(status: RolloutStatus): RolloutStatusWire {
  const { canaryRevision, primaryRevision, stepStartedAt, lastAnalysisAt, handledAction } = status;
  const { waitingFor, notified, checks } = status;
  return {
    phase: status.phase,
    observedGeneration: status.observedGeneration,
    canaryWeight: status.canaryWeight,
    ...(status.route === undefined
      ? {}
      : { route: structuredClone(status.route) as TrafficRouteWire }),
    verifiedWeight: status.verifiedWeight,
    currentStep: status.currentStep,
    failedChecks: status.failedChecks,
    iterations: status.iterations,
    ...(canaryRevision === undefined ? {} : { canaryRevision }),
    ...(primaryRevision === undefined ? {} : { primaryRevision }),
    message: status.message,
    lastTransitionTime: status.lastTransitionTime,
    ...(stepStartedAt === undefined ? {} : { stepStartedAt }),
    ...(lastAnalysisAt === undefined ? {} : { lastAnalysisAt }),
    ...(handledAction === undefined ? {} : { handledAction }),
    ...(waitingFor === undefined ? {} : { waitingFor: { ...waitingFor } }),
    ...(notified === undefined ? {} : { notified: notified.slice(-NOTIFIED_LIMIT) }),
    ...(status.outbox === undefined ? {} : { outbox: outboxToWire(status.outbox) }),
    ...(checks === undefined ? {} : { checks: checksToWire(checks) }),
    ...(status.judge === undefined ? {} : { judge: judgeToWire(status.judge) }),
    conditions: status.conditions.map((c): ConditionWire => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
      ...(c.observedGeneration === undefined ? {} : { observedGeneration: c.observedGeneration }),
    })),
  };
}
