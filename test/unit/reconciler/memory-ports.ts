// In-memory fakes of the reconciler's own ports (store, workload, events, webhooks), wired around
// the real XdsTrafficRouter and a real xDS server, so tests drive the real reconcile() and read
// what a proxy would get.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type { RolloutWire } from "../../../src/api/rollout-wire.js";
import type { WebhookRunner } from "../../../src/analysis/webhooks.js";
import { FakeClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import type { RolloutEventRecorder } from "../../../src/kube/rollout-events.js";
import { NopNotifier } from "../../../src/notify/notifier.js";
import { StatusSentLog } from "../../../src/notify/sent-log.js";
import { Inquiries } from "../../../src/reconciler/inquiries.js";
import type { ReconcilerDeps } from "../../../src/reconciler/ports.js";
import { XdsTrafficRouter } from "../../../src/routing/xds-router.js";
import type { RoutingSink } from "../../../src/routing/xds-router.js";
import type { Workload, WorkloadObservation } from "../../../src/workloads/workload.js";
import type {
  ClusterState,
  RoutingModel,
  ServiceEndpoints,
  ServiceModel,
} from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import type { XdsServer } from "../../../src/xds/server/xds-server.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";

export const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

const port = [{ name: "http", port: 80, protocol: "http" as const }];
const services: ServiceModel[] = ["app", "app-primary", "app-canary"].map((name) => ({
  namespace: "ns",
  name,
  ports: port,
}));

/** The cluster state a KubeClusterWatch would hold for Services app, app-primary, app-canary. */
export class MemorySink implements RoutingSink {
  readonly routing = new Map<string, RoutingModel>();
  readonly eps: ServiceEndpoints[] = ["app-primary", "app-canary"].map((service, i) => ({
    namespace: "ns",
    service,
    endpoints: [{ address: `10.0.0.${String(i + 1)}`, ports: { http: 8080 }, ready: true }],
  }));
  setRouting(namespace: string, service: string, r: RoutingModel | undefined): void {
    if (r === undefined) this.routing.delete(`${namespace}/${service}`);
    else this.routing.set(`${namespace}/${service}`, r);
  }
  services(): readonly ServiceModel[] {
    return services;
  }
  endpoints(): readonly ServiceEndpoints[] {
    return this.eps;
  }
  /** No Gateway API routes here. */
  routedFrom: RoutingSink["routedFrom"] = () => [];
  routesBinding: RoutingSink["routesBinding"] = () => [];
  state(): ClusterState {
    return { services, endpoints: this.eps, routing: [...this.routing.values()] };
  }
}

/**
 * Target `app` and primary `app-primary` as a Deployment pair would report them: the primary on
 * r1, the target on `targetRevision` (scaled up when it differs from r1).
 */
export class MemoryWorkload implements Workload {
  readonly calls: string[] = [];
  constructor(private readonly targetRevision: string) {}
  observe(): Promise<WorkloadObservation> {
    const release = this.targetRevision !== "r1";
    return Promise.resolve({
      target: {
        exists: true,
        replicas: release ? 1 : 0,
        ready: true,
        progressDeadlineExceeded: false,
        message: "",
        revision: this.targetRevision,
      },
      primary: {
        exists: true,
        replicas: 1,
        ready: true,
        progressDeadlineExceeded: false,
        message: "",
        revision: "r1",
      },
      services: { apex: true, primary: true, canary: true, apexOnTarget: false },
      desiredReplicas: 1,
    });
  }
  private record(what: string): Promise<void> {
    this.calls.push(what);
    return Promise.resolve();
  }
  ensurePrimary(): Promise<void> {
    return this.record("ensurePrimary");
  }
  ensureServices(): Promise<void> {
    return this.record("ensureServices");
  }
  scaleTarget(_r: unknown, replicas: number): Promise<void> {
    return this.record(`scaleTarget(${String(replicas)})`);
  }
  restoreApex(): Promise<void> {
    return this.record("restoreApex");
  }
  removePrimary(): Promise<void> {
    return this.record("removePrimary");
  }
  removeCanaryService(): Promise<void> {
    return this.record("removeCanaryService");
  }
}

export interface Env {
  readonly deps: ReconcilerDeps;
  readonly written: RolloutStatus[];
  /** "type reason: message" of each Event recorded. */
  readonly events: string[];
  /** Each setFinalizer call, as "present" or "absent". */
  readonly finalizer: string[];
  /** Publishes a snapshot of what the router gave the sink, as the cluster watch does. */
  readonly publish: () => void;
  /** Rollouts (`namespace/name`) requeued because a check or gate webhook answered. */
  readonly answered: string[];
}

const openGates: WebhookRunner = {
  call: () => Promise.resolve({ ok: true, errored: false, details: [] }),
};

export function env(server: XdsServer, workload: Workload, webhooks = openGates): Env {
  const sink = new MemorySink();
  const traffic = new XdsTrafficRouter(sink, server);
  const written: RolloutStatus[] = [];
  const events: string[] = [];
  const finalizer: string[] = [];
  let version = 1;
  const recorder: RolloutEventRecorder = {
    record: (_r, type, reason, message) => {
      events.push(`${type} ${reason}: ${message}`);
      return Promise.resolve();
    },
  };
  const answered: string[] = [];
  const clock = new FakeClock();
  const deps: ReconcilerDeps = {
    clock,
    log,
    store: {
      get: () => Promise.resolve(undefined),
      writeStatus: (_ns, _name, s) => {
        written.push(s);
        return Promise.resolve();
      },
      setFinalizer: (_r, present) => {
        finalizer.push(present ? "present" : "absent");
        return Promise.resolve();
      },
    },
    workload,
    traffic,
    analysis: { run: () => assert.fail("these tests run no analysis") },
    webhooks,
    inquiries: new Inquiries({ clock, concurrency: 4, answered: (r) => answered.push(r) }),
    notifier: new NopNotifier(),
    sentLog: new StatusSentLog(),
    events: recorder,
  };
  const publish = (): void => {
    const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
    server.setSnapshot(s);
    traffic.published(s);
  };
  return { deps, written, events, finalizer, publish, answered };
}

/** Rollout ns/app as the API server would hand it over. */
export function rolloutWire(
  generation: number,
  spec: unknown,
  status: RolloutWire["status"],
  metadata: Partial<RolloutWire["metadata"]> = {},
): RolloutWire {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "app", namespace: "ns", uid: "u1", generation, ...metadata },
    spec: spec as RolloutWire["spec"],
    ...(status === undefined ? {} : { status }),
  };
}

/** Status of a Rollout at rest on r1 after `steps` steps (Succeeded). */
export function atRest(steps: number): RolloutStatus {
  return {
    phase: "Succeeded",
    observedGeneration: 1,
    canaryWeight: 0,
    verifiedWeight: 0,
    currentStep: steps,
    failedChecks: 0,
    iterations: 0,
    canaryRevision: "r1",
    primaryRevision: "r1",
    message: "",
    lastTransitionTime: "2026-01-01T00:00:00.000Z",
    conditions: [],
  };
}

/** Status of a release of r2 paused at step 1, at `weight` % confirmed. */
export function pausedAt(weight: number): RolloutStatus {
  return {
    phase: "Paused",
    observedGeneration: 1,
    canaryWeight: weight,
    route: { canaryWeight: weight },
    verifiedWeight: weight,
    currentStep: 1,
    failedChecks: 0,
    iterations: 0,
    canaryRevision: "r2",
    primaryRevision: "r1",
    message: "",
    lastTransitionTime: "2026-01-01T00:00:00.000Z",
    stepStartedAt: "2026-01-01T00:00:00.000Z",
    conditions: [],
  };
}
