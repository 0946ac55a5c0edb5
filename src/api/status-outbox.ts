// status.outbox both ways: read leniently (the controller's own record; a malformed entry is
// dropped, not refused), written with unset optional fields omitted.
import type {
  NotifyEvent,
  OutboxCheck,
  OutboxEntry,
  ProviderRef,
  Severity,
} from "../domain/rollout.js";
import { OUTBOX_LIMIT, PHASES } from "../domain/rollout.js";
import { isRecord } from "./field.js";

export interface OutboxEntryWire {
  id: string;
  event: NotifyEvent;
  severity: Severity;
  message: string;
  revision: string;
  phase: OutboxEntry["phase"];
  weight: number;
  checks?: OutboxCheckWire[];
  pending: { namespace: string; name: string }[];
}

export interface OutboxCheckWire {
  name: string;
  outcome: OutboxCheck["outcome"];
  message: string;
  value?: number;
}

/** Every NotifyEvent, Severity and check outcome (records, so the compiler says when one is missing). */
const EVENTS: Readonly<Record<NotifyEvent, true>> = {
  initialized: true,
  started: true,
  waitingApproval: true,
  promoted: true,
  rolledBack: true,
  progressDeadlineExceeded: true,
};
const SEVERITIES: Readonly<Record<Severity, true>> = { info: true, warn: true, error: true };
const OUTCOMES: Readonly<Record<OutboxCheck["outcome"], true>> = {
  pass: true,
  fail: true,
  noData: true,
  error: true,
};

function oneOf<K extends string>(known: Readonly<Record<K, true>>, v: unknown): K | undefined {
  return Object.keys(known).find((k) => k === v) as K | undefined;
}

/** The entries of status.outbox, the newest OUTBOX_LIMIT; undefined when it has none. */
export function readOutbox(list: unknown): OutboxEntry[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const entries = list.flatMap(readEntry).slice(-OUTBOX_LIMIT);
  return entries.length === 0 ? undefined : entries;
}

function readEntry(e: unknown): OutboxEntry[] {
  if (!isRecord(e)) return [];
  const { id, message, revision, weight } = e;
  const event = oneOf(EVENTS, e.event);
  const severity = oneOf(SEVERITIES, e.severity);
  const phase = PHASES.find((p) => p === e.phase);
  if (typeof id !== "string" || id === "" || event === undefined || severity === undefined)
    return [];
  if (phase === undefined) return [];
  const pending = (Array.isArray(e.pending) ? e.pending : []).flatMap(readProvider);
  if (pending.length === 0) return [];
  const checks = Array.isArray(e.checks) ? e.checks.flatMap(readCheck) : undefined;
  return [
    {
      id,
      event,
      severity,
      message: typeof message === "string" ? message : "",
      revision: typeof revision === "string" ? revision : "",
      phase,
      weight: typeof weight === "number" && Number.isInteger(weight) ? weight : 0,
      ...(checks === undefined ? {} : { checks }),
      pending,
    },
  ];
}

function readProvider(p: unknown): ProviderRef[] {
  if (!isRecord(p) || typeof p.namespace !== "string" || typeof p.name !== "string") return [];
  return p.namespace === "" || p.name === "" ? [] : [{ namespace: p.namespace, name: p.name }];
}

function readCheck(c: unknown): OutboxCheck[] {
  if (!isRecord(c) || typeof c.name !== "string") return [];
  const outcome = oneOf(OUTCOMES, c.outcome);
  if (outcome === undefined) return [];
  const value = typeof c.value === "number" && Number.isFinite(c.value) ? c.value : undefined;
  return [
    {
      name: c.name,
      outcome,
      message: typeof c.message === "string" ? c.message : "",
      ...(value === undefined ? {} : { value }),
    },
  ];
}

export function outboxToWire(entries: readonly OutboxEntry[]): OutboxEntryWire[] {
  return entries.slice(-OUTBOX_LIMIT).map((e) => ({
    id: e.id,
    event: e.event,
    severity: e.severity,
    message: e.message,
    revision: e.revision,
    phase: e.phase,
    weight: e.weight,
    ...(e.checks === undefined
      ? {}
      : {
          checks: e.checks.map((c) => ({
            name: c.name,
            outcome: c.outcome,
            message: c.message,
            ...(c.value === undefined ? {} : { value: c.value }),
          })),
        }),
    pending: e.pending.map((p) => ({ namespace: p.namespace, name: p.name })),
  }));
}
