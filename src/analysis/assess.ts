// From what one metric check measured (the canary, perhaps the primary and the request count) to
// its report: the outcome and a message that stands on its own.
import type { MetricCheck } from "../domain/rollout.js";
import { promDuration } from "./builtin.js";
import type { Bounds, CheckReport } from "./judge.js";
import { formatNumber, judge, withUnit } from "./judge.js";
import type { MetricProvider, QueryOutcome } from "./prometheus.js";

/** The queries of one check, rendered, and where they run. */
export interface Source {
  readonly provider: MetricProvider;
  /** "%", "ms", or "" for templates. */
  readonly unit: string;
  readonly builtin: boolean;
  readonly canary: string;
  /** Only for a check relative to the primary. */
  readonly primary?: string;
}

export interface Measurements {
  /** Requests to the canary in the window, when a minimum is set. */
  readonly count: QueryOutcome | undefined;
  readonly canary: QueryOutcome;
  readonly primary: QueryOutcome | undefined;
}

export interface Scope {
  readonly namespace: string;
  readonly targetName: string;
  readonly primaryName: string;
  readonly windowMs: number;
  readonly minRequests: number | undefined;
}

export function absoluteBounds(check: MetricCheck): Bounds {
  return {
    ...(check.min === undefined ? {} : { min: check.min }),
    ...(check.max === undefined ? {} : { max: check.max }),
  };
}

/**
 * Too few requests, then a failed or empty canary query, come first; an absolute bound that
 * fails is a failure whatever the primary shows; only then is the primary needed.
 */
export function assess(
  check: MetricCheck,
  scope: Scope,
  source: Source,
  m: Measurements,
): CheckReport {
  const { name } = check;
  const base = {
    name,
    kind: "metric",
    query: source.canary,
    ...(source.unit === "" ? {} : { unit: source.unit }),
    threshold: absoluteBounds(check),
  } as const;
  const window = `in the last ${promDuration(scope.windowMs)}`;
  const min = scope.minRequests;
  if (m.count !== undefined && min !== undefined) {
    if (m.count.kind === "error") {
      return {
        ...base,
        outcome: "error",
        message: `${name}: counting requests: ${m.count.message}`,
      };
    }
    const n = m.count.kind === "value" ? m.count.value : 0;
    if (n < min) {
      const message = `${name}: no data: ${Math.round(n)} requests < minimum ${min} ${window}`;
      return { ...base, outcome: "noData", message };
    }
  }
  const workload = `${scope.namespace}/${scope.targetName}`;
  if (m.canary.kind === "error") {
    return { ...base, outcome: "error", message: `${name}: ${m.canary.message}` };
  }
  if (m.canary.kind === "noData") {
    return {
      ...base,
      outcome: "noData",
      message: `${name}: no data: ${noData(m.canary.reason, source, workload, window)}`,
    };
  }
  const value = m.canary.value;
  const absolute = judge(name, source.unit, value, base.threshold);
  const measured = { ...base, value };
  if (
    m.primary === undefined ||
    check.relativeToPrimary === undefined ||
    absolute.outcome === "fail"
  ) {
    return { ...measured, ...absolute };
  }
  const shown = `${name} ${withUnit(formatNumber(value), source.unit)}`;
  const primaryWorkload = `${scope.namespace}/${scope.primaryName}`;
  if (m.primary.kind === "error") {
    return { ...measured, outcome: "error", message: `${shown}; primary: ${m.primary.message}` };
  }
  if (m.primary.kind === "noData") {
    const why = noData(m.primary.reason, source, primaryWorkload, window);
    return { ...measured, outcome: "noData", message: `${shown}; no data for the primary: ${why}` };
  }
  const primaryValue = m.primary.value;
  const relative = { primary: primaryValue, bounds: check.relativeToPrimary };
  return {
    ...measured,
    primaryValue,
    ...judge(name, source.unit, value, base.threshold, relative),
  };
}

function noData(reason: string, source: Source, workload: string, window: string): string {
  if (!source.builtin) return `the query returned ${reason}`;
  if (reason === "no series") {
    return `no series for ${workload}: no requests yet, or Prometheus does not scrape its proxies`;
  }
  return `no requests to ${workload} ${window}`;
}
