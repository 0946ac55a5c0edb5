// status.judge and status.checks[].judge both ways. The judge's state is the controller's own
// record: read leniently (a malformed state is dropped, and the judge starts its run afresh,
// which only ever delays a decision), written as it is.
import type {
  JudgeCounters,
  JudgeCursor,
  JudgeMetricState,
  JudgePair,
  JudgeSegment,
} from "../domain/judge.js";
import type { JudgeCheck, JudgeStatus } from "../domain/rollout.js";
import { isRecord } from "./field.js";

const count = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;

function all<T>(list: unknown, read: (v: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: T[] = [];
  for (const v of list) {
    const r = read(v);
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

function readSegment(v: unknown): JudgeSegment | undefined {
  if (!isRecord(v)) return undefined;
  const [step, rho, a, b, nC, nP] = [v.step, v.rho, v.a, v.b, v.nC, v.nP].map(count);
  if (step === undefined || rho === undefined || rho > 1) return undefined;
  if (a === undefined || b === undefined || nC === undefined || nP === undefined) return undefined;
  return { step, rho, a, b, nC, nP, ...(v.upper === true && { upper: true as const }) };
}

function readPair(v: unknown): JudgePair | undefined {
  if (!isRecord(v)) return undefined;
  const [quantile, primaryLe, canaryLe] = [v.quantile, v.primaryLe, v.canaryLe].map(count);
  if (quantile === undefined || primaryLe === undefined || canaryLe === undefined) return undefined;
  return { quantile, primaryLe, canaryLe };
}

function readMetric(v: unknown): JudgeMetricState | undefined {
  if (!isRecord(v) || typeof v.name !== "string") return undefined;
  const series = all(v.series, (s) => all(s, readSegment));
  if (series === undefined) return undefined;
  const pairs = v.pairs === undefined ? undefined : all(v.pairs, readPair);
  if (v.pairs !== undefined && pairs === undefined) return undefined;
  return { name: v.name, ...(pairs === undefined ? {} : { pairs }), series };
}

function readCounters(v: unknown): JudgeCounters | undefined {
  if (!isRecord(v) || !isRecord(v.atOrBelow)) return undefined;
  const requests = count(v.requests);
  const failures = count(v.failures);
  if (requests === undefined || failures === undefined) return undefined;
  const atOrBelow: Record<string, number> = {};
  for (const [k, n] of Object.entries(v.atOrBelow)) {
    const c = count(n);
    if (c === undefined) return undefined;
    atOrBelow[k] = c;
  }
  return { requests, failures, atOrBelow };
}

function readCursor(v: unknown): JudgeCursor | undefined {
  if (!isRecord(v) || typeof v.at !== "string") return undefined;
  const weight = count(v.weight);
  const canary = readCounters(v.canary);
  const primary = readCounters(v.primary);
  if (weight === undefined || canary === undefined || primary === undefined) return undefined;
  return { at: v.at, weight, canary, primary };
}

export function readJudge(v: unknown): JudgeStatus | undefined {
  if (!isRecord(v) || typeof v.revision !== "string") return undefined;
  const metrics = all(v.metrics, readMetric);
  if (metrics === undefined) return undefined;
  const cursor = v.cursor === undefined ? undefined : readCursor(v.cursor);
  const pairWindow = v.pairWindow === undefined ? undefined : readCounters(v.pairWindow);
  return {
    revision: v.revision,
    ...(cursor === undefined ? {} : { cursor }),
    ...(pairWindow === undefined ? {} : { pairWindow }),
    warm: v.warm === true,
    metrics,
    dropped: count(v.dropped) ?? 0,
    canaryRequests: count(v.canaryRequests) ?? 0,
    canaryFailed: count(v.canaryFailed) ?? 0,
  };
}

export function judgeToWire(j: JudgeStatus): Record<string, unknown> {
  return structuredClone(j) as unknown as Record<string, unknown>;
}

const DECISIONS = ["harm", "pass", "inconclusive"] as const;

export function readJudgeCheck(v: unknown): JudgeCheck | undefined {
  if (!isRecord(v)) return undefined;
  const decision = DECISIONS.find((d) => d === v.decision);
  const eValue = count(v.eValue);
  if (decision === undefined || eValue === undefined) return undefined;
  const effect = count(v.effect);
  const bound = count(v.bound);
  const needs = count(v.needs);
  return {
    decision,
    eValue,
    ...(effect === undefined ? {} : { effect }),
    ...(bound === undefined ? {} : { bound }),
    ...(needs === undefined ? {} : { needs }),
    canaryRequests: count(v.canaryRequests) ?? 0,
  };
}
