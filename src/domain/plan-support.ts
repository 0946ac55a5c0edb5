// What every phase planner shares: the context of one plan, the two ways a phase planner ends
// (stay in the resulting state, or go to another state and plan again), deadlines and gates.
import type { Health } from "./conditions.js";
import { getCondition } from "./conditions.js";
import type {
  Action,
  GateType,
  NotifyEvent,
  Observed,
  ObservedTarget,
  Severity,
  TrafficRoute,
} from "./plan-model.js";
import type { RolloutSpec, RolloutStatus, WaitReason } from "./rollout.js";
import type { RunStep } from "./run-steps.js";
import { formatDuration } from "./run-steps.js";
import { sameRoute } from "./traffic-route.js";

/** Polls for what happens on its own (readiness, proxies' acknowledgements). */
export const WAIT_POLL_MS = 2_000;

export interface BaseCtx {
  readonly o: Observed;
  readonly spec: RolloutSpec;
  readonly steps: readonly RunStep[];
  readonly now: number;
  readonly nowIso: string;
}

export interface Ctx extends BaseCtx {
  /** The target exists whenever a phase planner runs (Terminating excepted). */
  readonly target: Extract<ObservedTarget, { exists: true }>;
}

/** The plan ends in this state. */
export interface Stay {
  readonly kind: "stay";
  /** The status to write, message included. */
  readonly status: RolloutStatus;
  /** Convergence actions and queries, in order; routing is stated through `route`. */
  readonly actions: readonly Action[];
  /** Events and notifications raised on the way (a failed check, say). */
  readonly effects: readonly Action[];
  /** The route wanted now; undefined leaves routing alone. */
  readonly route?: TrafficRoute;
  /** What is being waited for; its deadline counts from the first plan that waited for it. */
  readonly wait?: WaitReason;
  /** When to plan again at the latest (ms since the epoch). */
  readonly wakeAt?: number;
  /** Ready condition, when the phase's default does not say enough. */
  readonly ready?: Health;
}

/**
 * A transition to `status` (which forgets any wait). The plan ends there, with no action on the
 * world: the new state is written before anything is done in its name, so a controller that dies
 * in between resumes from it, never from the state before. One exception, `route`: a rollback
 * sends traffic back to the side known good in the same reconcile, since waiting for the next
 * one costs users failed requests (about 4 s of them at the demo's load on a busy machine). A
 * controller that dies before writing the rollback plans the step again from the last status:
 * the canary gets its weight back until the judge, whose state is written at every read, sees
 * the regression again.
 */
export interface Go {
  readonly kind: "go";
  readonly status: RolloutStatus;
  readonly effects: readonly Action[];
  /**
   * Routing the transition puts in place in the same reconcile, before its Events and
   * notifications, rather than in the next one's plan of the new phase (a rollback: each
   * reconcile in between is more requests to the failing canary).
   */
  readonly route?: TrafficRoute;
}

export type Step = Stay | Go;

export interface StayOptions {
  readonly actions?: readonly Action[];
  readonly effects?: readonly Action[];
  readonly route?: TrafficRoute;
  readonly wait?: WaitReason;
  readonly wakeAt?: number;
  readonly ready?: Health;
}

export function stay(status: RolloutStatus, message: string, options: StayOptions = {}): Stay {
  return {
    kind: "stay",
    status: { ...status, message },
    actions: options.actions ?? [],
    effects: options.effects ?? [],
    ...(options.route === undefined ? {} : { route: options.route }),
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.wakeAt === undefined ? {} : { wakeAt: options.wakeAt }),
    ...(options.ready === undefined ? {} : { ready: options.ready }),
  };
}

/** A transition; the status message is `message`, or else the first event's. */
export function go(status: RolloutStatus, effects: readonly Action[], message?: string): Go {
  const text = message ?? effects.find(isEvent)?.message;
  return {
    kind: "go",
    status: text === undefined ? status : { ...status, message: text },
    effects,
  };
}

/** A Step with effects raised before it added in front of its own. */
export function withEffects(before: readonly Action[], step: Step): Step {
  if (before.length === 0) return step;
  return { ...step, effects: [...before, ...step.effects] };
}

function isEvent(a: Action): a is Extract<Action, { kind: "recordEvent" }> {
  return a.kind === "recordEvent";
}

export function event(type: "Normal" | "Warning", reason: string, message: string): Action {
  return { kind: "recordEvent", type, reason, message };
}

export function notify(ev: NotifyEvent, severity: Severity, message: string): Action {
  return { kind: "notify", event: ev, severity, message };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function progressDeadlineMs(c: BaseCtx): number {
  return c.spec.progressDeadlineSeconds * 1000;
}

/** How long `status` has waited for `reason` (0 if it was waiting for something else). */
export function waitedMs(c: BaseCtx, status: RolloutStatus, reason: WaitReason): number {
  const w = status.waitingFor;
  if (w?.reason !== reason) return 0;
  return c.now - Date.parse(w.since);
}

/** Whether the wait for something that must happen on its own has outlasted the progress deadline. */
export function pastProgressDeadline(
  c: BaseCtx,
  status: RolloutStatus,
  reason: WaitReason,
): boolean {
  return waitedMs(c, status, reason) > progressDeadlineMs(c);
}

/**
 * Who the proxies' confirmation of `route` still waits for, as " (...)", when `route` is the one
 * already requested (a route asked for just now has nobody to wait for yet); else "".
 */
export function unconfirmed(c: BaseCtx, route: TrafficRoute): string {
  const t = c.o.traffic;
  return t.waitingOn !== undefined && sameRoute(t.requested, route) ? ` (${t.waitingOn})` : "";
}

export function deadlineText(c: BaseCtx): string {
  return formatDuration(progressDeadlineMs(c));
}

export function hasWebhooks(spec: RolloutSpec, type: GateType | "post-rollout"): boolean {
  return spec.analysis.webhooks.some((w) => w.type === type);
}

/** The earliest deadline among the gate's webhooks; undefined: wait as long as it takes. */
export function gateDeadlineMs(spec: RolloutSpec, type: GateType): number | undefined {
  const all = spec.analysis.webhooks.flatMap((w) =>
    w.type === type && w.deadlineMs !== undefined ? [w.deadlineMs] : [],
  );
  return all.length === 0 ? undefined : Math.min(...all);
}

/** A gate with no webhooks is open; one not yet asked this reconcile is "ask". */
export function gate(c: Ctx, type: GateType): "open" | "closed" | "failed" | "ask" {
  if (!hasWebhooks(c.spec, type)) return "open";
  return c.o.gates[type] ?? "ask";
}

export function ask(type: GateType): Action {
  return { kind: "runWebhooks", type };
}

/** Whether an approval wait has outlasted its gate's deadline. */
export function pastGateDeadline(c: Ctx, status: RolloutStatus, type: GateType): boolean {
  const deadline = gateDeadlineMs(c.spec, type);
  return deadline !== undefined && waitedMs(c, status, "approval") > deadline;
}

export function targetName(c: BaseCtx): string {
  return c.spec.targetRef.name;
}

export function primaryName(c: BaseCtx): string {
  return `${c.spec.targetRef.name}-primary`;
}

/**
 * A wait with nothing safer to fall back to (the primary already runs the new revision, or has
 * never served): past the deadline it turns Ready False and alerts once, and keeps waiting.
 */
export function overdue(
  c: BaseCtx,
  s: RolloutStatus,
  reason: WaitReason,
  message: string,
  options: StayOptions & { readonly force?: boolean },
): Stay {
  const { force, ...rest } = options;
  if (force !== true && !pastProgressDeadline(c, s, reason)) {
    return stay(s, message, { ...rest, wait: reason });
  }
  const text = `${message} (progress deadline of ${deadlineText(c)} exceeded)`;
  const alerted = getCondition(s.conditions, "Ready")?.reason === "ProgressDeadlineExceeded";
  const effects: Action[] = alerted
    ? []
    : [
        event("Warning", "ProgressDeadlineExceeded", text),
        notify("progressDeadlineExceeded", "error", text),
      ];
  return stay(s, text, {
    ...rest,
    effects: [...(rest.effects ?? []), ...effects],
    wait: reason,
    ready: { status: "False", reason: "ProgressDeadlineExceeded", message: text },
  });
}
