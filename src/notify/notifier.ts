// The Notifier port: how the controller tells people about a release. KubeNotifier
// (kube-notifier.ts) sends to the Rollout's AlertProviders; LogNotifier writes each message to the
// log, and NopNotifier only keeps it in memory, for tests.
import type { Logger } from "../common/logger.js";
import type { NotifyEvent, Severity } from "../domain/plan-model.js";
import type { Phase, ProviderRef, RolloutSpec } from "../domain/rollout.js";
import { recipients } from "./recipients.js";

/** One check's result, as the analysis reports it (analysis' CheckReport fits). */
export interface NotificationCheck {
  readonly name: string;
  readonly outcome: "pass" | "fail" | "noData" | "error";
  /** Stands alone: "request-success-rate 98.7 % < 99 %". */
  readonly message: string;
  readonly value?: number;
}

/** What the providers need beyond the planner's action; the reconciler fills it in. */
export interface NotificationContext {
  /**
   * Stable for one transition, however often it is planned: `transitionId(...)` in message.ts.
   * Delivery ids derive from it, and the SentLog keeps them.
   */
  readonly id: string;
  /** The Rollout's parsed spec: its alerts, and the facts chat messages show. */
  readonly spec: RolloutSpec;
  /** The revision the transition concerns: the canary's, or the primary's when initialising. */
  readonly revision: string;
  /** The phase and the canary weight after the transition. */
  readonly phase: Phase;
  readonly weight: number;
  /** The checks of the analysis that led here, when one did (a rollback on failed checks). */
  readonly checks?: readonly NotificationCheck[];
}

export interface Notification {
  readonly namespace: string;
  readonly name: string;
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly message: string;
  /** Required by KubeNotifier, which refuses (and reports) a notification without it. */
  readonly context?: NotificationContext;
  /** The providers to send it to (an outbox entry's pending ones); `recipients(...)` when absent. */
  readonly recipients?: readonly ProviderRef[];
}

export interface Notifier {
  /** Hands the notification over for delivery; never throws and never waits for a provider. */
  notify(n: Notification): Promise<void>;
  /** The providers a notification of `severity` about a Rollout of `namespace` goes to. */
  recipients(namespace: string, spec: RolloutSpec, severity: Severity): ProviderRef[];
}

export class LogNotifier implements Notifier {
  constructor(private readonly log: Logger) {}

  recipients(namespace: string, spec: RolloutSpec, severity: Severity): ProviderRef[] {
    return recipients(namespace, spec.alerts, severity);
  }

  notify(n: Notification): Promise<void> {
    const { context, ...rest } = n;
    this.log.info("notification", {
      ...rest,
      ...(context === undefined ? {} : { id: context.id }),
    });
    return Promise.resolve();
  }
}

export class NopNotifier implements Notifier {
  readonly sent: Notification[] = [];

  recipients(namespace: string, spec: RolloutSpec, severity: Severity): ProviderRef[] {
    return recipients(namespace, spec.alerts, severity);
  }

  notify(n: Notification): Promise<void> {
    this.sent.push(n);
    return Promise.resolve();
  }
}
