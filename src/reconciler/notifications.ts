// Where a reconcile meets the outbox (src/notify/outbox.ts): a planned `notify` becomes an entry
// written with the transition's status; what a status holds is handed to the notifier once it is
// written, so no message is sent for a transition that was never recorded, and none is lost by a
// controller that stops after recording it.
import type { RolloutWire } from "../api/rollout-wire.js";
import type { Action } from "../domain/plan-model.js";
import type {
  OutboxCheck,
  OutboxEntry,
  ProviderRef,
  RolloutSpec,
  RolloutStatus,
} from "../domain/rollout.js";
import { outboxEntry, pendingDeliveries, stageOutbox } from "../notify/outbox.js";
import type { ReconcilerDeps } from "./ports.js";

type NotifyAction = Extract<Action, { kind: "notify" }>;

/**
 * The outbox entry for a planned notification. Its id is the same however often the transition
 * is planned: it derives from the time the phase it leaves began, not from the new status.
 */
export function entryFor(
  a: NotifyAction,
  r: RolloutWire,
  spec: RolloutSpec,
  before: RolloutStatus | undefined,
  after: RolloutStatus,
  checks: readonly OutboxCheck[] | undefined,
  deps: Pick<ReconcilerDeps, "notifier">,
): OutboxEntry {
  const namespace = r.metadata.namespace ?? "default";
  return outboxEntry(
    a,
    {
      uid: r.metadata.uid ?? "",
      since: before?.lastTransitionTime ?? r.metadata.creationTimestamp?.toString() ?? "",
      revision: after.canaryRevision ?? after.primaryRevision ?? "",
      phase: after.phase,
      weight: after.canaryWeight,
      ...(checks === undefined ? {} : { checks }),
    },
    deps.notifier.recipients(namespace, spec, a.severity),
  );
}

/**
 * The status to write: the new entries in its outbox, what was settled since moved from the
 * outbox to `notified`. Entries pushed out of a full outbox are recorded as a Warning Event.
 */
export async function stageNotifications(
  r: RolloutWire,
  status: RolloutStatus,
  added: readonly OutboxEntry[],
  deps: Pick<ReconcilerDeps, "sentLog" | "events">,
): Promise<RolloutStatus> {
  const staged = stageOutbox(status, added, deps.sentLog.settled(r.metadata.uid ?? ""));
  for (const e of staged.dropped) {
    const to = e.pending.map((p) => `${p.namespace}/${p.name}`).join(", ");
    await deps.events.record(
      r,
      "Warning",
      "NotificationDropped",
      `outbox full: message ${e.id} (${e.event}) not sent to ${to}`,
    );
  }
  return staged.status;
}

/**
 * Hands every message `status` (as written, or as read) still has to send to the notifier, each
 * once per process. Without a valid spec nothing is sent: the chat fields come from it.
 */
export async function deliverOutbox(
  r: RolloutWire,
  spec: RolloutSpec | undefined,
  status: RolloutStatus | undefined,
  deps: Pick<ReconcilerDeps, "sentLog" | "notifier">,
): Promise<void> {
  if (spec === undefined) return;
  const byEntry = new Map<OutboxEntry, ProviderRef[]>();
  for (const d of pendingDeliveries(status)) {
    if (!deps.sentLog.claim(d.id)) continue;
    const list = byEntry.get(d.entry) ?? [];
    list.push(d.provider);
    byEntry.set(d.entry, list);
  }
  for (const [e, recipients] of byEntry) {
    await deps.notifier.notify({
      namespace: r.metadata.namespace ?? "default",
      name: r.metadata.name ?? "",
      event: e.event,
      severity: e.severity,
      message: e.message,
      context: {
        id: e.id,
        spec,
        revision: e.revision,
        phase: e.phase,
        weight: e.weight,
        ...(e.checks === undefined ? {} : { checks: e.checks }),
      },
      recipients,
    });
  }
}
