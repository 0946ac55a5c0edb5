// Rollout webhooks with Flagger's types and payloads: gates (confirm-*), checks (pre-rollout,
// rollout), the inverted rollback gate, and fire-and-forget hooks (post-rollout, event). A success
// is a status of at most 202, as in Flagger; timeouts and retries per webhook.
import type { AxiosInstance } from "axios";
import axios from "axios";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { WebhookSpec, WebhookType } from "../domain/rollout.js";

export interface WebhookContext {
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  /** The revision under release: Flagger's `checksum`. */
  readonly checksum: string;
}

export interface WebhookOutcome {
  readonly ok: boolean;
  /**
   * A webhook gave no answer: a timeout, a connection error, or 5xx/429 after its retries. For a
   * gate that is a failed check (GateState "failed"), unlike a deliberate refusal (another 4xx,
   * e.g. the load tester's 403 for a closed gate), which keeps the gate closed.
   */
  readonly errored: boolean;
  /** Per webhook, "name: 200" or "name: timeout after 10000 ms". */
  readonly details: readonly string[];
}

export interface WebhookRunner {
  /** Calls every webhook of `type`; ok when all succeed (vacuously when there are none). */
  call(
    hooks: readonly WebhookSpec[],
    type: WebhookType,
    ctx: WebhookContext,
    extra?: Record<string, string>,
  ): Promise<WebhookOutcome>;
}

export class HttpWebhookRunner implements WebhookRunner {
  private readonly http: AxiosInstance;

  constructor(private readonly log: Logger) {
    this.http = axios.create({ validateStatus: () => true, maxRedirects: 0 });
  }

  async call(
    hooks: readonly WebhookSpec[],
    type: WebhookType,
    ctx: WebhookContext,
    extra: Record<string, string> = {},
  ): Promise<WebhookOutcome> {
    const selected = hooks.filter((h) => h.type === type);
    const details: string[] = [];
    let ok = true;
    let errored = false;
    for (const h of selected) {
      const body = {
        name: ctx.name,
        namespace: ctx.namespace,
        phase: ctx.phase,
        checksum: ctx.checksum,
        type,
        metadata: { ...h.metadata, ...extra },
      };
      const result = await this.callOne(h, body);
      details.push(`${h.name}: ${result.detail}`);
      if (!result.ok) ok = false;
      if (result.errored) errored = true;
    }
    if (selected.length > 0) this.log.debug("webhooks called", { type, ok, errored, details });
    return { ok, errored, details };
  }

  private async callOne(
    h: WebhookSpec,
    body: object,
  ): Promise<{ ok: boolean; errored: boolean; detail: string }> {
    let last = "";
    let errored = false;
    for (let attempt = 0; attempt <= h.retries; attempt++) {
      try {
        const res = await this.http.post<unknown>(h.url, body, {
          timeout: h.timeoutMs,
          headers: { "content-type": "application/json" },
        });
        if (res.status <= 202 && res.status >= 200)
          return { ok: true, errored: false, detail: String(res.status) };
        const text = typeof res.data === "string" ? res.data : JSON.stringify(res.data);
        last = `${res.status}${text === "" ? "" : ` ${text.slice(0, 200)}`}`;
        errored = res.status >= 500 || res.status === 429;
        if (!errored) break; // a refusal, not a failure to retry
      } catch (err) {
        last =
          axios.isAxiosError(err) && err.code === "ECONNABORTED"
            ? `timeout after ${h.timeoutMs} ms`
            : describeError(err);
        errored = true;
      }
    }
    return { ok: false, errored, detail: last };
  }
}
