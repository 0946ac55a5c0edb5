// The boundary between the Rollout on the wire and the domain: parseRollout turns an object from
// the API server into a RolloutSpec with every default applied, or says in a reason and a message
// why it cannot (the controller records that as a condition). The analysis is read by
// parse-analysis.ts, the strategy by parse-strategy.ts, the status by parse-status.ts.
import { validateCronExpression } from "cron";
import type { AlertSpec, RolloutSpec, ServiceSpec } from "../domain/rollout.js";
import type { FaultPolicy, TrafficPolicy } from "../xds/model.js";
import { ROLLOUT_DEFAULTS as D } from "./defaults.js";
import { Field, readObjectRef, uniqueNames, WireError } from "./field.js";
import type { ParseFailureReason } from "./field.js";
import { readAnalysis } from "./parse-analysis.js";
import { readStrategy } from "./parse-strategy.js";

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

function readAlert(a: Field): AlertSpec {
  return {
    name: a.at("name").string(),
    severity: a.at("severity").oneOf(["info", "warn", "error"] as const, D.alertSeverity),
    providerRef: readObjectRef(a.at("providerRef")),
  };
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
