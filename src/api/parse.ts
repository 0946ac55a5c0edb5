// The boundary between the Rollout on the wire and the domain: parseRollout turns an object from
// the API server into a RolloutSpec with every default applied, or says in a reason and a message
// why it cannot (the controller records that as a condition). parseStatus and statusToWire carry the
// status both ways.
import { validateCronExpression } from "cron";
import type {
  AlertSpec,
  AnalysisSpec,
  Condition,
  JudgeMargin,
  MetricCheck,
  RelativeBounds,
  RolloutSpec,
  RolloutStatus,
  ServiceSpec,
  TrafficRoute,
  Wait,
  WaitReason,
  WebhookSpec,
} from "../domain/rollout.js";
import { CONDITION_TYPES, NOTIFIED_LIMIT, PHASES, WEBHOOK_TYPES } from "../domain/rollout.js";
import type { FaultPolicy, TrafficPolicy } from "../xds/model.js";
import type { BuiltinMetric } from "./defaults.js";
import { BUILTIN_METRICS, ROLLOUT_DEFAULTS as D } from "./defaults.js";
import { Field, isRecord, WireError } from "./field.js";
import type { ParseFailureReason } from "./field.js";
import { readStrategy } from "./parse-strategy.js";
import { outboxToWire, readOutbox } from "./status-outbox.js";
import type { ConditionWire, RolloutStatusWire, TrafficRouteWire } from "./rollout-wire.js";
import { checksToWire, readChecks } from "./status-checks.js";
import { judgeToWire, readJudge } from "./status-judge.js";

export type { ParseFailureReason } from "./field.js";

export type ParseResult =
  | { readonly ok: true; readonly spec: RolloutSpec }
  | {
      readonly ok: false;
      readonly reason: ParseFailureReason;
      readonly message: string;
      /** The spec without its strategy and analysis, when that much parses (for a rollback). */
      readonly fallback?: RolloutSpec;
    };

/** A DNS-1035 label: what a Service name must be. */
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** "-primary" and "-canary" must still fit the 63 characters of a label. */
const SERVICE_NAME_MAX = 55;
/** IANA service name, as Kubernetes requires of port names. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses a whole Rollout object (its `spec`); unknown fields are ignored. */
export function parseRollout(obj: unknown): ParseResult {
  try {
    return { ok: true, spec: readSpec(Field.root(obj).at("spec").object()) };
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    const fallback = fallbackSpec(obj);
    return {
      ok: false,
      reason: err.reason,
      message: err.message,
      ...(fallback === undefined ? {} : { fallback }),
    };
  }
}

/**
 * What a refused spec still says about where traffic goes: the target, the Service and its
 * policy, the progress deadline. Tried with only the strategy and analysis left out, then with
 * alerts, fault and promotion windows left out too; undefined when even that does not parse.
 */
function fallbackSpec(obj: unknown): RolloutSpec | undefined {
  const wire = (obj as { spec?: unknown } | null)?.spec;
  if (typeof wire !== "object" || wire === null) return undefined;
  const bare = { ...wire, strategy: { canary: { steps: [{ pause: {} }] } }, analysis: undefined };
  for (const spec of [
    bare,
    { ...bare, alerts: undefined, fault: undefined, promotionWindows: undefined },
  ]) {
    try {
      return readSpec(Field.root({ spec }).at("spec").object());
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
    }
  }
  return undefined;
}

function readSpec(spec: Field): RolloutSpec {
  const target = spec.at("targetRef").object();
  const targetRef = {
    apiVersion: target.at("apiVersion").oneOf(["apps/v1"], D.targetApiVersion),
    kind: target.at("kind").oneOf(["Deployment"] as const),
    name: target.at("name").string(),
  };
  const fault = spec.at("fault").optional(readFault);
  const strategy = readStrategy(spec.at("strategy"));
  const analysis = readAnalysis(spec.at("analysis"));
  if (strategy.kind !== "canary") {
    const judged = analysis.metrics.findIndex((m) => m.judge !== undefined);
    if (judged >= 0) {
      spec
        .at("analysis")
        .at("metrics")
        .items()
        [judged]?.fail(
          `the sequential judge compares the canary with the primary at a known traffic split, which only the canary strategy has: give ${strategy.kind} a thresholdRange or relativeToPrimary`,
        );
    }
  }
  return {
    targetRef,
    service: readService(spec.at("service").object(), target.at("name")),
    strategy,
    analysis,
    alerts: uniqueNames(spec.at("alerts"), "alert", 16).map(readAlert),
    progressDeadlineSeconds: spec
      .at("progressDeadlineSeconds")
      .int({ min: 1, default: D.progressDeadlineSeconds }),
    skipAnalysis: spec.at("skipAnalysis").bool(D.skipAnalysis),
    suspend: spec.at("suspend").bool(D.suspend),
    revertOnDeletion: spec.at("revertOnDeletion").bool(D.revertOnDeletion),
    promotionWindows: spec
      .at("promotionWindows")
      .items({ max: 8 })
      .map((w) => {
        const schedule = w.object().at("schedule").string();
        const check = validateCronExpression(schedule);
        if (!check.valid) {
          const why = check.error?.message ?? "invalid";
          w.at("schedule").fail(
            `${JSON.stringify(schedule)} is not a cron expression: ${why}`,
            "InvalidSchedule",
          );
        }
        return { schedule, durationMs: w.at("duration").duration() };
      }),
    ...(fault === undefined ? {} : { fault }),
  };
}

function readService(s: Field, targetName: Field): ServiceSpec {
  const named = s.has("name");
  const name = named ? s.at("name").string() : targetName.string();
  if (name.length > SERVICE_NAME_MAX || !DNS_LABEL.test(name)) {
    const rule =
      `${JSON.stringify(name)} must be a lowercase DNS label of at most ${SERVICE_NAME_MAX} ` +
      "characters (room for -primary and -canary)";
    if (named) s.at("name").fail(rule);
    targetName.fail(`is also the Service name unless service.name is set, so ${rule}`);
  }
  const port = s.at("port").int({ min: 1, max: 65535 });
  const tp = s.at("targetPort");
  let targetPort: number | string = port;
  if (typeof tp.value === "string") {
    targetPort = tp.string();
    if (targetPort.length > 15 || !PORT_NAME.test(targetPort)) {
      tp.fail(
        `${JSON.stringify(targetPort)} is not a port name: at most 15 lowercase letters, digits and dashes, with a letter`,
      );
    }
  } else if (!tp.absent) {
    targetPort = tp.int({ min: 1, max: 65535 });
  }
  const portName = s.at("portName").string({ default: D.portName });
  if (portName.length > 15 || !PORT_NAME.test(portName)) {
    s.at("portName").fail(`${JSON.stringify(portName)} is not a port name`);
  }
  const timeoutMs = s.at("timeout").optional((t) => t.duration());
  const retries = s.at("retries").optional((r) => {
    const perTryTimeoutMs = r
      .object()
      .at("perTryTimeout")
      .optional((t) => t.duration());
    return {
      attempts: r.at("attempts").int({ min: 0, max: 10 }),
      ...(perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs }),
      retryOn: r.at("retryOn").string({ default: D.retryOn }),
    };
  });
  const trafficPolicy = s.at("trafficPolicy").optional(readTrafficPolicy);
  return {
    name,
    port,
    targetPort,
    portName,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(retries === undefined ? {} : { retries }),
    ...(trafficPolicy === undefined ? {} : { trafficPolicy }),
  };
}

function readTrafficPolicy(t: Field): TrafficPolicy {
  t.object();
  const loadBalancer = t
    .at("loadBalancer")
    .optional((l) => l.oneOf(["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH"] as const));
  const connectTimeoutMs = t.at("connectTimeout").optional((c) => c.duration());
  const circuitBreaker = t.at("circuitBreaker").optional((c) => {
    c.object();
    const limit = (key: string, min: number) => {
      const v = c.at(key).optional((f) => f.int({ min }));
      return v === undefined ? {} : { [key]: v };
    };
    return {
      ...limit("maxConnections", 1),
      ...limit("maxPendingRequests", 1),
      ...limit("maxRequests", 1),
      ...limit("maxRetries", 0),
    };
  });
  const outlierDetection = t.at("outlierDetection").optional((o) => ({
    consecutive5xx: o
      .object()
      .at("consecutive5xx")
      .int({ min: 1, default: D.outlierConsecutive5xx }),
    intervalMs: o.at("interval").duration(D.outlierInterval),
    baseEjectionTimeMs: o.at("baseEjectionTime").duration(D.outlierBaseEjectionTime),
    maxEjectionPercent: o
      .at("maxEjectionPercent")
      .int({ min: 0, max: 100, default: D.outlierMaxEjectionPercent }),
  }));
  return {
    ...(loadBalancer === undefined ? {} : { loadBalancer }),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    ...(circuitBreaker === undefined ? {} : { circuitBreaker }),
    ...(outlierDetection === undefined ? {} : { outlierDetection }),
  };
}

function readAnalysis(a: Field): AnalysisSpec {
  if (!a.absent) a.object();
  const interval = a.at("interval");
  const intervalMs = interval.duration(D.analysisInterval);
  if (intervalMs < 1000) interval.fail("must be at least 1s");
  const minRequests = a.at("minRequests").optional((f) => f.int({ min: 1, max: 1_000_000_000 }));
  const level = (f: Field) => f.number({ min: 1e-9, max: 0.5 });
  const alpha = a.at("alpha").optional(level);
  const passAlpha = a.at("passAlpha").optional(level);
  return {
    intervalMs,
    threshold: a.at("threshold").int({ min: 1, max: 100, default: D.threshold }),
    metrics: uniqueNames(a.at("metrics"), "metric", 16).map(readMetric),
    webhooks: uniqueNames(a.at("webhooks"), "webhook", 16).map(readWebhook),
    ...(minRequests === undefined ? {} : { minRequests }),
    ...(alpha === undefined ? {} : { alpha }),
    ...(passAlpha === undefined ? {} : { passAlpha }),
  };
}

/** The entries of a list of named objects, refusing a name used twice. */
function uniqueNames(list: Field, what: string, max: number): Field[] {
  const seen = new Set<string>();
  const items = list.items({ max });
  for (const item of items) {
    const name = item.object().at("name").string();
    if (seen.has(name)) item.at("name").fail(`${what} names must be unique, ${name} is used twice`);
    seen.add(name);
  }
  return items;
}

function readMetric(m: Field): MetricCheck {
  const name = m.at("name").string();
  const templateRef = m.at("templateRef").optional(readObjectRef);
  if (templateRef === undefined && !(BUILTIN_METRICS as readonly string[]).includes(name)) {
    m.fail(
      `metric '${name}' has no templateRef, so it must be a built-in: ${BUILTIN_METRICS.join(" or ")}`,
    );
  }
  const relativeToPrimary = m.at("relativeToPrimary").optional(readRelative);
  const range = m.at("thresholdRange");
  const threshold = !range.absent || relativeToPrimary !== undefined;
  const increase = m.at("maxIncrease");
  if (!increase.absent && (threshold || templateRef !== undefined)) {
    increase.fail(
      "maxIncrease is the sequential judge's margin, for a built-in check without thresholdRange or relativeToPrimary",
    );
  }
  if (!threshold && templateRef !== undefined) {
    range.fail("required unless relativeToPrimary is set");
  }
  const judge =
    threshold || templateRef !== undefined
      ? undefined
      : { margin: readMargin(increase, name as BuiltinMetric) };
  const min = range.at("min").optional((f) => f.number());
  const max = range.at("max").optional((f) => f.number());
  if (!range.absent && min === undefined && max === undefined) {
    range.object().fail("thresholdRange needs min, max or both");
  }
  if (min !== undefined && max !== undefined && min > max) {
    range.fail(`thresholdRange.min (${min}) must not exceed thresholdRange.max (${max})`);
  }
  const intervalMs = m.at("interval").optional((f) => f.duration());
  const templateVariables = m.at("templateVariables").stringMap();
  return {
    name,
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(relativeToPrimary === undefined ? {} : { relativeToPrimary }),
    ...(templateRef === undefined ? {} : { templateRef }),
    ...(templateVariables === undefined ? {} : { templateVariables }),
    ...(judge === undefined ? {} : { judge }),
  };
}

const MARGIN = /^([0-9]+(?:[.][0-9]+)?)(%|ms|x)$/;

/**
 * `maxIncrease`: for request-success-rate points of error rate ("0.5%") or a ratio ("1.5x"); for
 * request-duration milliseconds ("20ms") or percent ("10%").
 */
function readMargin(f: Field, metric: BuiltinMetric): JudgeMargin {
  const errors = metric === "request-success-rate";
  const text = f.absent ? (errors ? D.judgeErrorMargin : D.judgeLatencyMargin) : f.string();
  const m = MARGIN.exec(text.trim());
  const value = Number(m?.[1]);
  const unit = m?.[2];
  if (errors && unit === "%" && value > 0 && value <= 100) return { kind: "points", points: value };
  if (errors && unit === "x" && value > 1) return { kind: "ratio", ratio: value };
  if (!errors && unit === "ms" && value > 0) return { kind: "ms", ms: value };
  if (!errors && unit === "%" && value > 0) return { kind: "percent", percent: value };
  return f.fail(
    errors
      ? `${JSON.stringify(text)} is not a margin for error rates: points of error rate ("0.5%", more than 0 and at most 100) or a ratio above 1 ("1.5x")`
      : `${JSON.stringify(text)} is not a margin for latency: milliseconds ("20ms") or percent ("10%"), more than 0`,
  );
}

function readRelative(r: Field): RelativeBounds {
  const points = r
    .object()
    .at("maxDecreasePoints")
    .optional((f) => f.number({ min: 0 }));
  const percent = r.at("maxIncreasePercent").optional((f) => f.number({ min: 0 }));
  if (points === undefined && percent === undefined) {
    r.fail("relativeToPrimary needs maxDecreasePoints, maxIncreasePercent or both");
  }
  return {
    ...(points === undefined ? {} : { maxDecreasePoints: points }),
    ...(percent === undefined ? {} : { maxIncreasePercent: percent }),
  };
}

function readWebhook(w: Field): WebhookSpec {
  const type = w.at("type").oneOf(WEBHOOK_TYPES, D.webhookType);
  const url = w.at("url").string();
  if (!isHttpUrl(url)) {
    w.at("url").fail(`${JSON.stringify(url)} is not an absolute http or https URL`);
  }
  const deadlineMs = w.at("deadline").optional((d) => d.duration());
  if (deadlineMs !== undefined && !type.startsWith("confirm-")) {
    w.at("deadline").fail(
      "deadline applies only to the confirm-rollout, confirm-traffic-increase and confirm-promotion gates",
    );
  }
  const metadata = w.at("metadata").stringMap();
  return {
    name: w.at("name").string(),
    type,
    url,
    timeoutMs: w.at("timeout").duration(D.webhookTimeout),
    retries: w.at("retries").int({ min: 0, max: 10, default: D.webhookRetries }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  };
}

function isHttpUrl(s: string): boolean {
  try {
    const { protocol } = new URL(s);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

function readAlert(a: Field): AlertSpec {
  return {
    name: a.at("name").string(),
    severity: a.at("severity").oneOf(["info", "warn", "error"] as const, D.alertSeverity),
    providerRef: readObjectRef(a.at("providerRef")),
  };
}

function readObjectRef(r: Field): { readonly name: string; readonly namespace?: string } {
  const namespace = r
    .object()
    .at("namespace")
    .optional((n) => n.string());
  return { name: r.at("name").string(), ...(namespace === undefined ? {} : { namespace }) };
}

function readFault(f: Field): FaultPolicy {
  f.object();
  const percent = { min: 0, max: 100 };
  const abort = f.at("abort").optional((a) => {
    const status = a.object().exactlyOne(["httpStatus", "grpcStatus"] as const);
    const code =
      status === "httpStatus"
        ? { httpStatus: a.at(status).int({ min: 200, max: 599 }) }
        : { grpcStatus: a.at(status).int({ min: 0, max: 16 }) };
    return { percent: a.at("percent").number(percent), ...code };
  });
  const delay = f.at("delay").optional((d) => ({
    percent: d.object().at("percent").number(percent),
    delayMs: d.at("fixedDelay").duration(),
  }));
  return {
    ...(abort === undefined ? {} : { abort }),
    ...(delay === undefined ? {} : { delay }),
  };
}

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
