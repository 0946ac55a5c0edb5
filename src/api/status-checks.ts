// status.checks both ways: read leniently (the controller's own record; a malformed entry is
// dropped, not refused), written with unset optional fields omitted.
import type { CheckOutcome, CheckStatus } from "../domain/rollout.js";
import { isRecord } from "./field.js";
import type { CheckStatusWire } from "./rollout-wire.js";
import { readJudgeCheck } from "./status-judge.js";

/** Every CheckOutcome (a record, so the compiler says when one is missing). */
const OUTCOMES: Readonly<Record<CheckOutcome, true>> = {
  pass: true,
  fail: true,
  noData: true,
  error: true,
};

export function readChecks(list: unknown): CheckStatus[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.flatMap(readCheck);
}

function readCheck(c: unknown): CheckStatus[] {
  if (!isRecord(c)) return [];
  const { name, kind, outcome, message, measuredAt } = c;
  if (typeof name !== "string" || (kind !== "metric" && kind !== "webhook")) return [];
  const known = Object.keys(OUTCOMES).find((o) => o === outcome) as CheckOutcome | undefined;
  if (known === undefined) return [];
  const num = (v: unknown): number | undefined =>
    typeof v === "number" && Number.isFinite(v) ? v : undefined;
  const value = num(c.value);
  const primaryValue = num(c.primaryValue);
  const unit = typeof c.unit === "string" && c.unit !== "" ? c.unit : undefined;
  const t = isRecord(c.threshold) ? c.threshold : {};
  const min = num(t.min);
  const max = num(t.max);
  const judge = readJudgeCheck(c.judge);
  return [
    {
      name,
      kind,
      outcome: known,
      ...(value === undefined ? {} : { value }),
      ...(unit === undefined ? {} : { unit }),
      ...(primaryValue === undefined ? {} : { primaryValue }),
      threshold: { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) },
      message: typeof message === "string" ? message : "",
      measuredAt: typeof measuredAt === "string" ? measuredAt : "",
      ...(judge === undefined ? {} : { judge }),
    },
  ];
}

export function checksToWire(checks: readonly CheckStatus[]): CheckStatusWire[] {
  return checks.map((c) => ({
    name: c.name,
    kind: c.kind,
    outcome: c.outcome,
    ...(c.value === undefined ? {} : { value: c.value }),
    ...(c.unit === undefined ? {} : { unit: c.unit }),
    ...(c.primaryValue === undefined ? {} : { primaryValue: c.primaryValue }),
    threshold: {
      ...(c.threshold.min === undefined ? {} : { min: c.threshold.min }),
      ...(c.threshold.max === undefined ? {} : { max: c.threshold.max }),
    },
    message: c.message,
    measuredAt: c.measuredAt,
    ...(c.judge === undefined ? {} : { judge: { ...c.judge } }),
  }));
}
