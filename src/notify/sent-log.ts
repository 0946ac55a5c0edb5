// What was settled (delivered, or given up and reported), by delivery id, so a message is not sent
// twice. StatusSentLog keeps the ids in memory until the reconciler writes them to the Rollout's
// status (out of status.outbox, into status.notified), where the next leader finds them; it also
// knows which messages of the outbox this process has already handed over.
import { NOTIFIED_LIMIT } from "../domain/rollout.js";

export interface SentLog {
  has(id: string): Promise<boolean>;
  /** Called once the provider accepted the message, or once it was given up and reported. */
  record(id: string): Promise<void>;
}

/** For tests, and for a controller without a status to keep the log in. */
export class MemorySentLog implements SentLog {
  readonly ids = new Set<string>();

  has(id: string): Promise<boolean> {
    return Promise.resolve(this.ids.has(id));
  }

  record(id: string): Promise<void> {
    this.ids.add(id);
    return Promise.resolve();
  }
}

/** `list` with `ids` appended (each once, in order), cut to the newest NOTIFIED_LIMIT. */
export function appendNotified(
  list: readonly string[] | undefined,
  ids: readonly string[],
): string[] {
  const out = [...(list ?? [])];
  for (const id of ids) if (!out.includes(id)) out.push(id);
  return out.slice(-NOTIFIED_LIMIT);
}

/** The Rollout a delivery id belongs to: ids start with the Rollout's UID (transitionId). */
export function rolloutUid(id: string): string {
  const slash = id.indexOf("/");
  return slash < 0 ? id : id.slice(0, slash);
}

export interface RolloutKey {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
}

interface Entry {
  key: RolloutKey | undefined;
  /** status.notified as last observed. */
  persisted: string[];
  /** Settled and not yet seen in the status. */
  recorded: string[];
  /** Handed over for delivery by this process. */
  claimed: Set<string>;
}

/**
 * A SentLog over the Rollouts' status.notified. The reconciler tells it what each status it
 * observed holds (`observed`), hands each pending message over once (`claim`), and writes what was
 * settled since (`settled`) into the status; `onRecorded` asks for that reconcile.
 */
export class StatusSentLog implements SentLog {
  private readonly rollouts = new Map<string, Entry>();

  constructor(private readonly onRecorded: (rollout: RolloutKey) => void = () => undefined) {}

  /** The status.notified of a Rollout as observed; call it before applying the plan's actions. */
  observed(rollout: RolloutKey, notified: readonly string[] | undefined): void {
    const entry = this.entry(rollout.uid);
    entry.key = rollout;
    entry.persisted = [...(notified ?? [])];
    // Once persisted, an id need not be carried in memory any more.
    entry.recorded = entry.recorded.filter((id) => !entry.persisted.includes(id));
  }

  /** The ids settled since the status last observed, oldest first: for the status to record. */
  settled(uid: string): readonly string[] {
    return this.rollouts.get(uid)?.recorded ?? [];
  }

  /**
   * True the first time it is asked for an id neither settled nor handed over before: the caller
   * hands the message over. False after, so each reconcile does not offer it again.
   */
  claim(id: string): boolean {
    const entry = this.entry(rolloutUid(id));
    if (entry.claimed.has(id) || entry.persisted.includes(id) || entry.recorded.includes(id))
      return false;
    entry.claimed.add(id);
    return true;
  }

  /** Drops a deleted Rollout's ids. */
  forget(uid: string): void {
    this.rollouts.delete(uid);
  }

  has(id: string): Promise<boolean> {
    const entry = this.rollouts.get(rolloutUid(id));
    return Promise.resolve(
      entry !== undefined && (entry.persisted.includes(id) || entry.recorded.includes(id)),
    );
  }

  record(id: string): Promise<void> {
    const uid = rolloutUid(id);
    const entry = this.entry(uid);
    entry.claimed.delete(id);
    if (!entry.recorded.includes(id)) {
      entry.recorded = appendNotified(entry.recorded, [id]);
      if (entry.key !== undefined) this.onRecorded(entry.key);
    }
    return Promise.resolve();
  }

  private entry(uid: string): Entry {
    let entry = this.rollouts.get(uid);
    if (entry === undefined) {
      entry = { key: undefined, persisted: [], recorded: [], claimed: new Set() };
      this.rollouts.set(uid, entry);
    }
    return entry;
  }
}
