// The outbox: a transition's messages are written into the Rollout's status in the same write as
// the transition, sent from there, and taken out (their delivery ids moved to status.notified)
// once each provider has them. A controller that stops anywhere in between leaves them to the next
// one. Pure: what goes in, what comes out, what is still to send.
import type {
  NotifyEvent,
  OutboxCheck,
  OutboxEntry,
  Phase,
  ProviderRef,
  RolloutStatus,
  Severity,
} from "../domain/rollout.js";
import { OUTBOX_LIMIT } from "../domain/rollout.js";
import { deliveryId, transitionId } from "./message.js";
import { appendNotified } from "./sent-log.js";

/** Longer messages are cut to this many characters, so that the status stays small. */
export const OUTBOX_MESSAGE_LIMIT = 1024;

export interface Announcement {
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly message: string;
}

export interface TransitionFacts {
  readonly uid: string;
  /** When the phase the transition leaves began: what makes its id stable. */
  readonly since: string;
  readonly revision: string;
  readonly phase: Phase;
  readonly weight: number;
  readonly checks?: readonly OutboxCheck[];
}

/** The entry that announces one transition to `recipients`. */
export function outboxEntry(
  a: Announcement,
  t: TransitionFacts,
  recipients: readonly ProviderRef[],
): OutboxEntry {
  return {
    id: transitionId({ uid: t.uid, event: a.event, revision: t.revision, since: t.since }),
    event: a.event,
    severity: a.severity,
    message: cut(a.message),
    revision: t.revision,
    phase: t.phase,
    weight: t.weight,
    ...(t.checks === undefined ? {} : { checks: t.checks.map(outboxCheck) }),
    pending: recipients.map((r) => ({ namespace: r.namespace, name: r.name })),
  };
}

function outboxCheck(c: OutboxCheck): OutboxCheck {
  return {
    name: c.name,
    outcome: c.outcome,
    message: cut(c.message),
    ...(c.value === undefined ? {} : { value: c.value }),
  };
}

function cut(text: string): string {
  return text.length <= OUTBOX_MESSAGE_LIMIT ? text : `${text.slice(0, OUTBOX_MESSAGE_LIMIT - 1)}…`;
}

export interface Staged {
  /** The status to write. */
  readonly status: RolloutStatus;
  /** Entries pushed out by newer ones (beyond OUTBOX_LIMIT), never to be sent: report them. */
  readonly dropped: readonly OutboxEntry[];
}

/**
 * The status to write after a reconcile: `added` entries appended (without the providers that
 * already have them, and not at all when the outbox already holds their transition), the
 * `settled` delivery ids (sent, or given up and reported) taken out of the outbox and appended to
 * `notified`, entries nobody is left to send to removed, the oldest beyond OUTBOX_LIMIT dropped.
 * A status with nothing to add or settle comes back as it was.
 */
export function stageOutbox(
  status: RolloutStatus,
  added: readonly OutboxEntry[],
  settled: readonly string[],
): Staged {
  if (added.length === 0 && settled.length === 0) return { status, dropped: [] };
  const done = new Set([...(status.notified ?? []), ...settled]);
  const entries: OutboxEntry[] = [];
  for (const e of [...(status.outbox ?? []), ...added]) {
    if (entries.some((x) => x.id === e.id)) continue;
    const pending = e.pending.filter((p) => !done.has(deliveryId(e.id, p)));
    if (pending.length === 0) continue;
    entries.push(pending.length === e.pending.length ? e : { ...e, pending });
  }
  const cut = Math.max(0, entries.length - OUTBOX_LIMIT);
  const next: Writable<RolloutStatus> = { ...status };
  delete next.outbox;
  if (entries.length > cut) next.outbox = entries.slice(cut);
  if (settled.length > 0) next.notified = appendNotified(status.notified, settled);
  return { status: next, dropped: entries.slice(0, cut) };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

export interface PendingDelivery {
  readonly entry: OutboxEntry;
  readonly provider: ProviderRef;
  /** deliveryId(entry.id, provider): what the dispatcher and status.notified know it by. */
  readonly id: string;
}

/** Every message the status's outbox still has to send, oldest first. */
export function pendingDeliveries(status: RolloutStatus | undefined): PendingDelivery[] {
  return (status?.outbox ?? []).flatMap((entry) =>
    entry.pending.map((provider) => ({ entry, provider, id: deliveryId(entry.id, provider) })),
  );
}
