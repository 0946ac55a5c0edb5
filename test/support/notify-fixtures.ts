// Shared by the notification tests: a Rollout spec, the six transitions as the planner announces
// them, in-memory API server reads, a clock that records back-off instead of waiting, and a
// KubeNotifier wired to a real Dispatcher.
import { PassThrough } from "node:stream";
import { ApiException } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { Clock } from "../../src/common/clock.js";
import { FakeClock, systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import type { NotifyEvent, Severity } from "../../src/domain/plan-model.js";
import type { AlertSpec, Phase, RolloutSpec } from "../../src/domain/rollout.js";
import type { DeliveryFailure, DispatcherOptions } from "../../src/notify/dispatcher.js";
import { Dispatcher, notificationsCounter } from "../../src/notify/dispatcher.js";
import type { DefaultProvider } from "../../src/notify/kube-notifier.js";
import { KubeNotifier } from "../../src/notify/kube-notifier.js";
import type { Notification, NotificationCheck } from "../../src/notify/notifier.js";
import { builtInServices } from "../../src/notify/registry.js";
import type { SentLog } from "../../src/notify/sent-log.js";
import { MemorySentLog } from "../../src/notify/sent-log.js";

export const quietLog = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

export const UID = "0f0e0d0c-0000-4000-8000-000000000001";
/** What the FakeClock reads: every message's timestamp. */
export const NOW = "2026-01-01T00:00:00.000Z";

export function rolloutSpec(alerts: readonly AlertSpec[] = []): RolloutSpec {
  return {
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
    service: { name: "podinfo", port: 9898, targetPort: 9898, portName: "http" },
    strategy: {
      kind: "canary",
      steps: [
        { kind: "setWeight", weight: 10 },
        { kind: "setWeight", weight: 30 },
        { kind: "pause" },
        { kind: "setWeight", weight: 60 },
      ],
    },
    analysis: { intervalMs: 30_000, threshold: 3, metrics: [], webhooks: [] },
    alerts,
    progressDeadlineSeconds: 600,
    skipAnalysis: false,
    suspend: false,
    revertOnDeletion: false,
    promotionWindows: [],
  };
}

export interface Transition {
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly text: string;
  readonly revision: string;
  readonly phase: Phase;
  readonly weight: number;
  readonly since: string;
  readonly checks?: readonly NotificationCheck[];
}

/** One of each event, worded as src/domain/transitions.ts words them. */
export const TRANSITIONS: readonly Transition[] = [
  {
    event: "initialized",
    severity: "info",
    text: "Initialization done: podinfo-primary serves revision 5c4b3a291",
    revision: "5c4b3a291",
    phase: "Initialized",
    weight: 0,
    since: "2025-12-31T23:00:00Z",
  },
  {
    event: "started",
    severity: "info",
    text: "New revision 7d9f8c6b5 of podinfo: starting the release",
    revision: "7d9f8c6b5",
    phase: "Progressing",
    weight: 0,
    since: "2025-12-31T23:10:00Z",
  },
  {
    event: "waitingApproval",
    severity: "warn",
    text: "Promotion of podinfo revision 7d9f8c6b5 waits for approval (confirm-promotion)",
    revision: "7d9f8c6b5",
    phase: "WaitingPromotion",
    weight: 60,
    since: "2025-12-31T23:20:00Z",
  },
  {
    event: "promoted",
    severity: "info",
    text: "Release of podinfo revision 7d9f8c6b5 completed: promoted to podinfo-primary",
    revision: "7d9f8c6b5",
    phase: "Succeeded",
    weight: 0,
    since: "2025-12-31T23:30:00Z",
  },
  {
    event: "rolledBack",
    severity: "error",
    text: "Rolled back podinfo revision 7d9f8c6b5: 3 failed checks, request-success-rate 97.5 % < 99 %",
    revision: "7d9f8c6b5",
    phase: "Failed",
    weight: 0,
    since: "2025-12-31T23:40:00Z",
    checks: [
      {
        name: "request-success-rate",
        outcome: "fail",
        message: "request-success-rate 97.5 % < 99 %",
        value: 97.5,
      },
      {
        name: "request-duration",
        outcome: "pass",
        message: "request-duration 120 ms <= 500 ms",
        value: 120,
      },
      { name: "smoke", outcome: "error", message: "smoke: timeout after 10000 ms" },
    ],
  },
  {
    event: "progressDeadlineExceeded",
    severity: "error",
    text: "Waiting for podinfo to become ready (progress deadline of 600s exceeded)",
    revision: "7d9f8c6b5",
    phase: "Progressing",
    weight: 10,
    since: "2025-12-31T23:50:00Z",
  },
];

export function transitionOf(event: NotifyEvent): Transition {
  const t = TRANSITIONS.find((x) => x.event === event);
  if (t === undefined) throw new Error(`no transition ${event}`);
  return t;
}

export function notification(t: Transition, spec: RolloutSpec): Notification {
  return {
    namespace: "demo",
    name: "podinfo",
    event: t.event,
    severity: t.severity,
    message: t.text,
    context: {
      id: `${UID}/${t.event}/${t.revision}/${t.since}`,
      spec,
      revision: t.revision,
      phase: t.phase,
      weight: t.weight,
      ...(t.checks === undefined ? {} : { checks: t.checks }),
    },
  };
}

/** The API server's objects: AlertProviders and Secrets by "namespace/name". */
export class FakeApi {
  readonly providers = new Map<string, unknown>();
  readonly secrets = new Map<string, Record<string, string>>();
  reads = 0;

  provider(namespace: string, name: string, spec: Record<string, unknown>): this {
    this.providers.set(`${namespace}/${name}`, {
      apiVersion: "vireo.dev/v1alpha1",
      kind: "AlertProvider",
      metadata: { namespace, name },
      spec,
    });
    return this;
  }

  /** A Secret whose data are the given strings, base64-encoded as the API server returns them. */
  secret(namespace: string, name: string, data: Record<string, string>): this {
    const encoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    this.secrets.set(`${namespace}/${name}`, encoded);
    return this;
  }

  readonly custom = {
    getNamespacedCustomObject: (p: { namespace: string; name: string; plural: string }) => {
      this.reads++;
      const obj =
        p.plural === "alertproviders" ? this.providers.get(`${p.namespace}/${p.name}`) : undefined;
      return obj === undefined ? Promise.reject(notFound()) : Promise.resolve(obj);
    },
  };

  readonly core = {
    readNamespacedSecret: (p: { namespace: string; name: string }) => {
      const data = this.secrets.get(`${p.namespace}/${p.name}`);
      return data === undefined ? Promise.reject(notFound()) : Promise.resolve({ data });
    },
  };
}

function notFound(): ApiException<string> {
  return new ApiException(404, "not found", "{}", {});
}

/** Real timers (request timeouts), but back-off and Retry-After waits are recorded, not waited. */
export class SleepRecorder implements Clock {
  readonly sleeps: number[] = [];

  now(): number {
    return systemClock.now();
  }

  setTimer(ms: number, fn: () => void) {
    return systemClock.setTimer(ms, fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted === true) return Promise.reject(new Error("aborted"));
    return Promise.resolve();
  }
}

export interface Harness {
  readonly dispatcher: Dispatcher;
  readonly failures: DeliveryFailure[];
  readonly registry: Registry;
  readonly clock: SleepRecorder;
  /** vireo_notifications_total as "provider/result" → value. */
  counts(): Promise<Record<string, number>>;
}

export function dispatcherHarness(
  options: Partial<DispatcherOptions> = {},
  sentLog: SentLog = new MemorySentLog(),
): Harness {
  const registry = new Registry();
  const counter = notificationsCounter(registry);
  const failures: DeliveryFailure[] = [];
  const clock = new SleepRecorder();
  const dispatcher = new Dispatcher({
    clock,
    log: quietLog,
    sentLog,
    counter,
    onFailure: (f) => failures.push(f),
    options: { timeoutMs: 2_000, baseDelayMs: 100, ...options },
  });
  return {
    dispatcher,
    failures,
    registry,
    clock,
    async counts() {
      const got = await counter.get();
      return Object.fromEntries(
        got.values.map((v) => [`${String(v.labels.provider)}/${String(v.labels.result)}`, v.value]),
      );
    },
  };
}

export function kubeNotifier(
  api: FakeApi,
  h: Harness,
  options: { defaultProvider?: DefaultProvider; clusterName?: string } = {},
): KubeNotifier {
  return new KubeNotifier({
    custom: api.custom,
    core: api.core,
    dispatcher: h.dispatcher,
    services: builtInServices(),
    clock: new FakeClock(Date.parse(NOW)),
    log: quietLog,
    ...(options.defaultProvider === undefined ? {} : { defaultProvider: options.defaultProvider }),
    ...(options.clusterName === undefined ? {} : { message: { clusterName: options.clusterName } }),
  });
}
