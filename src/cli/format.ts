// Pure rendering for the CLI: tables like kubectl's and a readable status of one Rollout.
import { readChecks } from "../api/status-checks.js";
import { readJudge } from "../api/status-judge.js";
import type { JudgeStatus } from "../domain/judge.js";
import type { CheckOutcome, CheckStatus } from "../domain/rollout.js";

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** kubectl's compact ages: 45s, 3m12s, 5h, 2d. */
export function age(fromIso: string | undefined, now: number): string {
  if (fromIso === undefined) return "<unknown>";
  const s = Math.max(0, Math.floor((now - new Date(fromIso).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export interface RolloutView {
  readonly namespace: string;
  readonly name: string;
  readonly createdAt: string | undefined;
  readonly phase: string;
  readonly canaryWeight: number;
  readonly verifiedWeight: number;
  readonly currentStep: number;
  readonly failedChecks: number;
  readonly iterations: number;
  readonly canaryRevision: string;
  readonly primaryRevision: string;
  readonly message: string;
  readonly lastTransitionTime: string | undefined;
  readonly conditions: readonly { type: string; status: string; reason: string; message: string }[];
  /** The last result of every check (status.checks); empty before the first analysis. */
  readonly checks: readonly CheckStatus[];
  /** From status.judge: the canary's requests and failures up to the judge's decision. */
  readonly canaryTally: { readonly requests: number; readonly failed: number } | undefined;
}

interface RawRollout {
  metadata?: { namespace?: string; name?: string; creationTimestamp?: string };
  status?: Record<string, unknown>;
}

/** Reads what the CLI shows from a Rollout object, tolerating a missing status. */
export function rolloutView(obj: unknown): RolloutView {
  const r = obj as RawRollout;
  const s = r.status ?? {};
  const num = (k: string): number => (typeof s[k] === "number" ? s[k] : 0);
  const str = (k: string): string => (typeof s[k] === "string" ? s[k] : "");
  const conds = Array.isArray(s.conditions) ? (s.conditions as RolloutView["conditions"]) : [];
  return {
    namespace: r.metadata?.namespace ?? "",
    name: r.metadata?.name ?? "",
    createdAt: r.metadata?.creationTimestamp,
    phase: str("phase") === "" ? "<pending>" : str("phase"),
    canaryWeight: num("canaryWeight"),
    verifiedWeight: num("verifiedWeight"),
    currentStep: num("currentStep"),
    failedChecks: num("failedChecks"),
    iterations: num("iterations"),
    canaryRevision: str("canaryRevision"),
    primaryRevision: str("primaryRevision"),
    message: str("message"),
    lastTransitionTime: str("lastTransitionTime") === "" ? undefined : str("lastTransitionTime"),
    conditions: conds,
    checks: readChecks(s.checks) ?? [],
    canaryTally: tally(readJudge(s.judge)),
  };
}

function tally(j: JudgeStatus | undefined): RolloutView["canaryTally"] {
  return j === undefined ? undefined : { requests: j.canaryRequests, failed: j.canaryFailed };
}

export function rolloutTable(
  views: readonly RolloutView[],
  now: number,
  allNamespaces: boolean,
): string {
  const header = [
    ...(allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "STATUS",
    "WEIGHT",
    "STEP",
    "FAILED",
    "LAST TRANSITION",
    "AGE",
  ];
  const rows = views.map((v) => [
    ...(allNamespaces ? [v.namespace] : []),
    v.name,
    v.phase,
    weight(v),
    String(v.currentStep),
    String(v.failedChecks),
    age(v.lastTransitionTime, now),
    age(v.createdAt, now),
  ]);
  return table(header, rows);
}

/** "20" when every proxy has confirmed the weight, "20 (10 verified)" while it moves. */
export function weight(v: RolloutView): string {
  return v.canaryWeight === v.verifiedWeight
    ? String(v.canaryWeight)
    : `${v.canaryWeight} (${v.verifiedWeight} verified)`;
}

export function statusText(v: RolloutView, now: number): string {
  const lines = [
    `Rollout ${v.namespace}/${v.name}`,
    `  phase:      ${v.phase} (since ${age(v.lastTransitionTime, now)})`,
    `  weight:     ${weight(v)}`,
    `  step:       ${v.currentStep}    failed checks: ${v.failedChecks}    iterations: ${v.iterations}`,
    `  revisions:  canary ${v.canaryRevision || "-"}, primary ${v.primaryRevision || "-"}`,
    `  message:    ${v.message || "-"}`,
  ];
  if (v.canaryTally !== undefined) {
    const t = v.canaryTally;
    lines.push(
      `  canary:     ${String(t.requests)} requests answered, ${String(t.failed)} failed (judged run)`,
    );
  }
  for (const c of v.conditions)
    lines.push(`  condition:  ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  const text = lines.join("\n") + "\n";
  return v.checks.length === 0 ? text : `${text}  checks:\n${checksTable(v.checks, now)}`;
}

const OUTCOME: Readonly<Record<CheckOutcome, string>> = {
  pass: "pass",
  fail: "FAIL",
  noData: "NO DATA",
  error: "ERROR",
};

/** One row per check: value and threshold with the unit, and what went wrong when it did not pass. */
export function checksTable(checks: readonly CheckStatus[], now: number): string {
  const unit = (c: CheckStatus, n: number): string =>
    c.unit === undefined ? String(n) : `${String(n)} ${c.unit}`;
  const rows = checks.map((c) => [
    c.name,
    OUTCOME[c.outcome],
    c.value === undefined
      ? "-"
      : c.primaryValue === undefined
        ? unit(c, c.value)
        : `${unit(c, c.value)} (primary ${unit(c, c.primaryValue)})`,
    [
      ...(c.threshold.min === undefined ? [] : [`>= ${unit(c, c.threshold.min)}`]),
      ...(c.threshold.max === undefined ? [] : [`<= ${unit(c, c.threshold.max)}`]),
    ].join(", ") || "-",
    `${age(c.measuredAt === "" ? undefined : c.measuredAt, now)} ago`,
    // A judged check's message is its evidence (effect, bound, e-value, decision): always shown.
    c.outcome === "pass" && c.judge === undefined ? "" : c.message,
  ]);
  const t = table(["CHECK", "RESULT", "VALUE", "THRESHOLD", "MEASURED", "DETAIL"], rows);
  return t.replace(/^/gm, "    ").replace(/ +$/, "");
}

/** A release that ended: Succeeded or Failed, or undefined while it goes on. */
export function terminal(v: RolloutView): "succeeded" | "failed" | undefined {
  if (v.phase === "Succeeded" || v.phase === "Initialized") return "succeeded";
  if (v.phase === "Failed") return "failed";
  return undefined;
}
