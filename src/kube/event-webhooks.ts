// `event` webhooks (Flagger's type): every Event vireo records on a Rollout is also posted to the
// Rollout's event webhooks, fire-and-forget, each with its own timeout and retries. Their outcome
// changes nothing; a failure is logged.
import type { WebhookRunner } from "../analysis/webhooks.js";
import type { RolloutWire } from "../api/rollout-wire.js";
import { parseRollout } from "../api/parse.js";
import type { Clock } from "../common/clock.js";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { RolloutEventRecorder } from "./rollout-events.js";

export class EventWebhookRecorder implements RolloutEventRecorder {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly inner: RolloutEventRecorder,
    private readonly webhooks: WebhookRunner,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async record(
    r: RolloutWire,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    await this.inner.record(r, type, reason, message);
    const parsed = parseRollout(r);
    // An invalid spec has no webhooks to trust; its Events still reach the API server.
    if (!parsed.ok) return;
    const hooks = parsed.spec.analysis.webhooks.filter((h) => h.type === "event");
    if (hooks.length === 0) return;
    const namespace = r.metadata.namespace ?? "default";
    const name = r.metadata.name ?? "";
    const status = r.status;
    const call = this.webhooks
      .call(
        hooks,
        "event",
        {
          name,
          namespace,
          phase: status?.phase ?? "",
          checksum: status?.canaryRevision ?? "",
        },
        {
          eventMessage: message,
          eventType: type,
          eventReason: reason,
          timestamp: String(this.clock.now()),
        },
      )
      .then(
        (out) => {
          if (!out.ok)
            this.log.warn("event webhook failed", {
              rollout: `${namespace}/${name}`,
              reason,
              details: out.details,
            });
        },
        (err: unknown) => {
          this.log.warn("event webhook failed", {
            rollout: `${namespace}/${name}`,
            reason,
            error: describeError(err),
          });
        },
      )
      .finally(() => {
        this.inFlight.delete(call);
      });
    this.inFlight.add(call);
  }

  /** Resolves once every event webhook call started so far has ended (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
