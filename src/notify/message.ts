// The message every service formats: one transition of one Rollout, with the facts chat services
// show as fields (Flagger's: Cluster, Target, Failed checks threshold, Progress deadline, Traffic
// routing; plus each check that did not pass). Pure: ids, severity filtering, the facts.
import { assertNever } from "../common/assert-never.js";
import type { NotifyEvent, Severity } from "../domain/plan-model.js";
import type { Phase, Strategy } from "../domain/rollout.js";
import type { Notification, NotificationCheck, NotificationContext } from "./notifier.js";
export { receives } from "./recipients.js";

export interface MessageField {
  readonly name: string;
  readonly value: string;
}

export interface Message {
  /** The transition's id (NotificationContext.id). */
  readonly id: string;
  readonly rollout: { readonly namespace: string; readonly name: string };
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly text: string;
  readonly revision: string;
  readonly phase: Phase;
  readonly weight: number;
  readonly checks?: readonly NotificationCheck[];
  /** What chat services show under the text, in this order. */
  readonly fields: readonly MessageField[];
  /** When the controller handed it over (RFC 3339). */
  readonly timestamp: string;
}

export interface MessageOptions {
  /** Adds a Cluster field first, as Flagger's -cluster-name does. */
  readonly clusterName?: string;
}

/**
 * The id of one transition: the same however often the planner plans it (after a failed status
 * write, on another replica), different for every other transition. `since` is the
 * lastTransitionTime of the status the transition leaves; the new status's would change with every
 * attempt to plan it.
 */
export function transitionId(t: {
  readonly uid: string;
  readonly event: NotifyEvent;
  readonly revision: string;
  readonly since: string;
}): string {
  return `${t.uid}/${t.event}/${t.revision}/${t.since}`;
}

/** One message to one provider: delivered, and recorded, independently of the others. */
export function deliveryId(
  messageId: string,
  provider: { readonly namespace: string; readonly name: string },
): string {
  return `${messageId}@${provider.namespace}/${provider.name}`;
}

/** The message for a notification and its context, stamped `now`. */
export function buildMessage(
  n: Notification,
  ctx: NotificationContext,
  now: number,
  options: MessageOptions = {},
): Message {
  return {
    id: ctx.id,
    rollout: { namespace: n.namespace, name: n.name },
    event: n.event,
    severity: n.severity,
    text: n.message,
    revision: ctx.revision,
    phase: ctx.phase,
    weight: ctx.weight,
    ...(ctx.checks === undefined ? {} : { checks: ctx.checks }),
    fields: messageFields(n, ctx, options),
    timestamp: new Date(now).toISOString(),
  };
}

function messageFields(
  n: Notification,
  ctx: NotificationContext,
  options: MessageOptions,
): MessageField[] {
  const { spec } = ctx;
  const fields: MessageField[] = [];
  if (options.clusterName !== undefined)
    fields.push({ name: "Cluster", value: options.clusterName });
  fields.push({
    name: "Target",
    value: `${spec.targetRef.kind}/${spec.targetRef.name}.${n.namespace}`,
  });
  if (describesRelease(n.event)) {
    fields.push(
      { name: "Failed checks threshold", value: String(spec.analysis.threshold) },
      { name: "Progress deadline", value: `${spec.progressDeadlineSeconds}s` },
      { name: "Traffic routing", value: trafficRouting(spec.strategy) },
    );
  }
  for (const c of ctx.checks ?? []) {
    if (c.outcome !== "pass") fields.push({ name: c.name, value: c.message });
  }
  return fields;
}

/** The events where the release's set-up is news; the others show only what happened. */
function describesRelease(event: NotifyEvent): boolean {
  switch (event) {
    case "initialized":
    case "started":
      return true;
    case "waitingApproval":
    case "promoted":
    case "rolledBack":
    case "progressDeadlineExceeded":
      return false;
    default:
      return assertNever(event, "notify event");
  }
}

/** Flagger's wording: "Weight steps: 10,30,60", "A/B Testing", "Blue/Green". */
export function trafficRouting(s: Strategy): string {
  switch (s.kind) {
    case "canary": {
      const weights = s.steps.flatMap((step) => (step.kind === "setWeight" ? [step.weight] : []));
      return `Weight steps: ${weights.join(",")}`;
    }
    case "abTesting":
      return "A/B Testing";
    case "blueGreen":
      return "Blue/Green";
    case "mirroring":
      return `Mirroring: ${s.mirrorPercent}%`;
    default:
      return assertNever(s, "strategy");
  }
}

/** `<name>.<namespace>`, as Flagger titles its messages. */
export function rolloutTitle(m: Message): string {
  return `${m.rollout.name}.${m.rollout.namespace}`;
}

/** The three characters Slack's mrkdwn and Google Chat's HTML subset give meaning to. */
export function escapeMarkup(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
