// The Notifier the controller runs: a notification goes to every AlertProvider of the Rollout's
// alerts whose severity filter lets it through, and to the controller's default provider if it
// has one. Providers and their Secrets are read when a message is sent; the dispatcher delivers.
// notify() returns at once: nothing here waits on the API server or a provider.
import type { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import type { Clock } from "../common/clock.js";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { Severity } from "../domain/plan-model.js";
import type { ProviderRef, RolloutSpec } from "../domain/rollout.js";
import { readOrUndefined } from "../kube/apply.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Message, MessageOptions } from "./message.js";
import { buildMessage, deliveryId } from "./message.js";
import { recipients } from "./recipients.js";
import type { Notification, Notifier } from "./notifier.js";
import type { AlertProvider } from "./provider.js";
import {
  addressFromSecret,
  ALERT_PROVIDER_GROUP,
  ALERT_PROVIDER_PLURAL,
  ALERT_PROVIDER_VERSION,
  hmacKeyFromSecret,
  parseAlertProvider,
} from "./provider.js";
import type { ServiceRegistry } from "./registry.js";
import type { Endpoint, OutboundRequest } from "./service.js";

export type { ProviderRef } from "../domain/rollout.js";

/** Receives the notifications of every Rollout at `severity` or above. */
export interface DefaultProvider extends ProviderRef {
  readonly severity: Severity;
}

export interface KubeNotifierDeps {
  readonly custom: Pick<CustomObjectsApi, "getNamespacedCustomObject">;
  readonly core: Pick<CoreV1Api, "readNamespacedSecret">;
  readonly dispatcher: Dispatcher;
  readonly services: ServiceRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly defaultProvider?: DefaultProvider;
  readonly message?: MessageOptions;
}

type Resolution =
  | { readonly ok: true; readonly endpoint: Endpoint }
  | { readonly ok: false; readonly type: string; readonly reason: string };

export class KubeNotifier implements Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: KubeNotifierDeps) {}

  notify(n: Notification): Promise<void> {
    const work = this.send(n)
      .catch((err: unknown) => {
        this.deps.log.error("notification not handed over", {
          namespace: n.namespace,
          name: n.name,
          event: n.event,
          error: err,
        });
      })
      .finally(() => {
        this.pending.delete(work);
      });
    this.pending.add(work);
    return Promise.resolve();
  }

  /** Resolves when every notification so far has been delivered or given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.deps.dispatcher.idle();
  }

  /** The providers a notification goes to, each once: recipients(...) with the default provider. */
  recipients(namespace: string, spec: RolloutSpec, severity: Severity): ProviderRef[] {
    return recipients(namespace, spec.alerts, severity, this.deps.defaultProvider);
  }

  private async send(n: Notification): Promise<void> {
    const { dispatcher } = this.deps;
    const rollout = { namespace: n.namespace, name: n.name };
    const ctx = n.context;
    if (ctx === undefined) {
      dispatcher.report({
        id: `${n.namespace}/${n.name}/${n.event}`,
        destination: "none",
        provider: "none",
        rollout,
        event: n.event,
        attempts: 0,
        reason:
          "the notification has no context (which transition it announces), so it was not sent",
      });
      return;
    }
    const message = buildMessage(n, ctx, this.deps.clock.now(), this.deps.message);
    const to = n.recipients ?? this.recipients(n.namespace, ctx.spec, n.severity);
    for (const ref of to) {
      const id = deliveryId(ctx.id, ref);
      const destination = `AlertProvider ${ref.namespace}/${ref.name}`;
      const failed = (provider: string, reason: string): void => {
        dispatcher.report({
          id,
          destination,
          provider,
          rollout,
          event: n.event,
          attempts: 0,
          reason,
        });
      };
      const resolved = await this.resolve(ref);
      if (!resolved.ok) {
        failed(resolved.type, resolved.reason);
        continue;
      }
      const { endpoint } = resolved;
      const request = this.request(message, endpoint);
      if (typeof request === "string") {
        failed(endpoint.type, request);
        continue;
      }
      dispatcher.enqueue({
        id,
        destination,
        provider: endpoint.type,
        rollout,
        event: n.event,
        request,
      });
    }
  }

  /** The service's request, or why there is none (a type no service is registered for). */
  private request(message: Message, endpoint: Endpoint): OutboundRequest | string {
    try {
      return this.deps.services.get(endpoint.type).request(message, endpoint);
    } catch (err) {
      return describeError(err);
    }
  }

  /** The provider with its Secrets read, or why it cannot be used. */
  async resolve(ref: ProviderRef): Promise<Resolution> {
    const what = `AlertProvider ${ref.namespace}/${ref.name}`;
    let provider: AlertProvider;
    try {
      const obj: unknown = await readOrUndefined(() =>
        this.deps.custom.getNamespacedCustomObject({
          group: ALERT_PROVIDER_GROUP,
          version: ALERT_PROVIDER_VERSION,
          plural: ALERT_PROVIDER_PLURAL,
          namespace: ref.namespace,
          name: ref.name,
        }),
      );
      if (obj === undefined) return { ok: false, type: "unknown", reason: `${what} not found` };
      const parsed = parseAlertProvider(obj);
      if (!parsed.ok) return { ok: false, type: "unknown", reason: `${what}: ${parsed.message}` };
      provider = parsed.provider;
    } catch (err) {
      return {
        ok: false,
        type: "unknown",
        reason: `${what}: cannot read it: ${describeError(err)}`,
      };
    }
    const fail = (reason: string): Resolution => ({
      ok: false,
      type: provider.type,
      reason: `${what}: ${reason}`,
    });
    try {
      let url: string;
      if (provider.address.kind === "inline") {
        url = provider.address.url;
      } else {
        const name = provider.address.secretName;
        const data = await this.secretData(ref.namespace, name);
        if (data === undefined) return fail(`Secret ${name} not found`);
        const address = addressFromSecret(name, data);
        if (!address.ok) return fail(address.message);
        url = address.url;
      }
      let hmacKey: Uint8Array | undefined;
      if (provider.signingSecretName !== undefined) {
        const name = provider.signingSecretName;
        const data = await this.secretData(ref.namespace, name);
        if (data === undefined) return fail(`Secret ${name} not found`);
        const key = hmacKeyFromSecret(name, data);
        if (!key.ok) return fail(key.message);
        hmacKey = key.value;
      }
      return {
        ok: true,
        endpoint: {
          type: provider.type,
          url,
          ...(provider.channel === undefined ? {} : { channel: provider.channel }),
          ...(provider.username === undefined ? {} : { username: provider.username }),
          ...(hmacKey === undefined ? {} : { hmacKey }),
        },
      };
    } catch (err) {
      return fail(`cannot read its Secret: ${describeError(err)}`);
    }
  }

  // An existing Secret with no data reads as {}, so undefined means "not found".
  private async secretData(
    namespace: string,
    name: string,
  ): Promise<Readonly<Record<string, string>> | undefined> {
    const secret = await readOrUndefined(() =>
      this.deps.core.readNamespacedSecret({ namespace, name }),
    );
    return secret === undefined ? undefined : (secret.data ?? {});
  }
}
