// The generic webhook: vireo's own JSON schema, version v1 (docs/notifications.md), signed with
// HMAC-SHA256 over the exact body when the provider has a signing key.
import { createHmac } from "node:crypto";
import type { NotifyEvent, Severity } from "../domain/plan-model.js";
import type { Phase } from "../domain/rollout.js";
import type { Message } from "./message.js";
import type { NotificationCheck } from "./notifier.js";
import type { Endpoint, NotificationService, OutboundRequest } from "./service.js";
import { JSON_HEADERS } from "./service.js";

export const SIGNATURE_HEADER = "x-vireo-signature";

/** The body, field for field as documented; add fields only in a new version. */
export interface WebhookPayloadV1 {
  readonly version: "v1";
  readonly id: string;
  readonly rollout: { readonly namespace: string; readonly name: string };
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly message: string;
  readonly revision: string;
  readonly phase: Phase;
  readonly weight: number;
  readonly checks?: readonly NotificationCheck[];
  readonly timestamp: string;
}

export function webhookPayload(m: Message): WebhookPayloadV1 {
  return {
    version: "v1",
    id: m.id,
    rollout: { namespace: m.rollout.namespace, name: m.rollout.name },
    event: m.event,
    severity: m.severity,
    message: m.text,
    revision: m.revision,
    phase: m.phase,
    weight: m.weight,
    ...(m.checks === undefined
      ? {}
      : {
          checks: m.checks.map((c) => ({
            name: c.name,
            outcome: c.outcome,
            message: c.message,
            ...(c.value === undefined ? {} : { value: c.value }),
          })),
        }),
    timestamp: m.timestamp,
  };
}

/** `sha256=<hex>`: what X-Vireo-Signature carries for `body` under `key`. */
export function signature(key: Uint8Array, body: string): string {
  return `sha256=${createHmac("sha256", key).update(body, "utf8").digest("hex")}`;
}

export const webhook: NotificationService = {
  type: "webhook",
  request(m: Message, e: Endpoint): OutboundRequest {
    const body = JSON.stringify(webhookPayload(m));
    const headers =
      e.hmacKey === undefined
        ? JSON_HEADERS
        : { ...JSON_HEADERS, [SIGNATURE_HEADER]: signature(e.hmacKey, body) };
    return { url: e.url, headers, body };
  },
};
