// The Rollout controller loop: informers over Rollouts and Deployments feed a work queue; workers
// reconcile one Rollout at a time each, only while this replica leads; errors back off per key.
import type { KubeConfig, V1Deployment } from "@kubernetes/client-node";
import { AppsV1Api, CustomObjectsApi, makeInformer } from "@kubernetes/client-node";
import type { Informer, ObjectCache } from "@kubernetes/client-node";
import { ROLLOUT_GROUP, ROLLOUT_PLURAL, ROLLOUT_VERSION } from "../api/rollout-wire.js";
import type { RolloutWire } from "../api/rollout-wire.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { PHASES } from "../domain/rollout.js";
import { recordedRouting, reconcile } from "./reconcile.js";
import type { ReconcilerDeps } from "./ports.js";
import { WorkQueue } from "./work-queue.js";
import type { WatchRestart } from "../kube/watch-restart.js";
import { restartOnError } from "../kube/watch-restart.js";

type Watched<T extends { metadata?: object }> = Informer<T> & ObjectCache<T>;

export interface ControllerOptions {
  readonly kc: KubeConfig;
  readonly deps: ReconcilerDeps;
  readonly metrics: ControllerMetrics;
  readonly workers?: number;
  /** Only Rollouts (and Deployments) in this namespace; every namespace when absent. */
  readonly watchNamespace?: string | undefined;
}

export class RolloutController {
  private readonly rollouts: Watched<RolloutWire>;
  private readonly deployments: Watched<V1Deployment>;
  private readonly queue: WorkQueue;
  private leading = false;
  private synced = false;
  private stopped = false;
  private workers: Promise<void>[] = [];
  private readonly restarts: readonly WatchRestart[];

  constructor(private readonly o: ControllerOptions) {
    const custom = o.kc.makeApiClient(CustomObjectsApi);
    const apps = o.kc.makeApiClient(AppsV1Api);
    this.queue = new WorkQueue({ clock: o.deps.clock, baseDelayMs: 500, maxDelayMs: 60_000 });
    const ns = o.watchNamespace;
    const scope = ns === undefined ? "" : `/namespaces/${ns}`;
    const rolloutType = { group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, plural: ROLLOUT_PLURAL };
    this.rollouts = makeInformer<RolloutWire>(
      o.kc,
      `/apis/${ROLLOUT_GROUP}/${ROLLOUT_VERSION}${scope}/${ROLLOUT_PLURAL}`,
      async () =>
        (ns === undefined
          ? await custom.listClusterCustomObject(rolloutType)
          : await custom.listNamespacedCustomObject({ ...rolloutType, namespace: ns })) as never,
    );
    this.deployments = makeInformer<V1Deployment>(o.kc, `/apis/apps/v1${scope}/deployments`, () =>
      ns === undefined
        ? apps.listDeploymentForAllNamespaces()
        : apps.listNamespacedDeployment({ namespace: ns }),
    );
    const enqueue = (r: RolloutWire): void => {
      this.queue.add(`${r.metadata.namespace ?? "default"}/${r.metadata.name ?? ""}`);
    };
    for (const verb of ["add", "update", "delete"] as const) {
      this.rollouts.on(verb, enqueue);
      this.deployments.on(verb, (d) => {
        for (const r of this.rolloutsFor(d)) enqueue(r);
      });
    }
    const watched = [this.rollouts, this.deployments] as Watched<{ metadata?: object }>[];
    this.restarts = watched.map((inf) =>
      // Stopping aborts the watches; that is not a failure.
      restartOnError(inf, inf === this.rollouts ? "rollouts" : "deployments", {
        clock: o.deps.clock,
        log: o.deps.log,
        failures: o.metrics.kubeApiFailures,
        active: () => !this.stopped,
      }),
    );
  }

  /** Reconciles a Rollout again soon (e.g. to persist a notification just delivered). */
  requeue(namespace: string, name: string): void {
    if (this.leading) this.queue.add(`${namespace}/${name}`);
  }

  /** True once both caches have listed everything (the readiness probe). */
  get ready(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    await Promise.all(
      [this.rollouts.start(), this.deployments.start()].map((p, i) =>
        p.catch((err: unknown) => this.restarts[i]?.failed(err)),
      ),
    );
    this.synced = true;
  }

  /**
   * Starts reconciling (on gaining leadership): the routing every Rollout's status records is
   * restored first, then every Rollout is queued once.
   */
  lead(): void {
    if (this.leading) return;
    this.leading = true;
    for (const r of this.rollouts.list()) {
      const routing = recordedRouting(r);
      if (routing !== undefined) this.o.deps.traffic.setRouting(routing);
      this.queue.add(`${r.metadata.namespace ?? "default"}/${r.metadata.name ?? ""}`);
    }
    const n = this.o.workers ?? 2;
    this.workers = Array.from({ length: n }, () => this.work());
  }

  /** Stops reconciling (on losing leadership or shutting down); in-flight reconciles finish. */
  async follow(): Promise<void> {
    this.leading = false;
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.restarts) r.cancel();
    await this.follow();
    await Promise.all([this.rollouts.stop(), this.deployments.stop()]);
  }

  private rolloutsFor(d: V1Deployment): RolloutWire[] {
    const ns = d.metadata?.namespace;
    const name = d.metadata?.name ?? "";
    const target = name.endsWith("-primary") ? name.slice(0, -"-primary".length) : name;
    return this.rollouts
      .list(ns)
      .filter(
        (r) =>
          (r.spec as { targetRef?: { name?: string } } | undefined)?.targetRef?.name === target,
      );
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.next();
      if (key === undefined) return;
      this.o.metrics.queueDepth.set(this.queue.depth);
      const [namespace = "", name = ""] = key.split("/");
      const started = this.o.deps.clock.now();
      try {
        // Read fresh, not from the informer: a status just written must be planned from, or a
        // quick requeue would plan a step again from the cache's older copy.
        const r = await this.o.deps.store.get(namespace, name);
        if (r === undefined) {
          this.queue.forget(key);
          this.o.deps.inquiries.forget(key);
          this.o.metrics.rolloutGone(namespace, name, PHASES);
          continue;
        }
        const res = await reconcile(r, this.o.deps);
        this.queue.forget(key);
        if (res.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
        this.o.metrics.rolloutObserved(namespace, name, res.plan.status, PHASES);
        this.o.metrics.reconcileDuration.observe(
          { result: "ok" },
          (this.o.deps.clock.now() - started) / 1000,
        );
      } catch (err) {
        this.o.deps.log.error("reconcile failed, will retry", {
          namespace,
          name,
          error: err instanceof Error ? err : String(err),
        });
        this.o.metrics.reconcileDuration.observe(
          { result: "error" },
          (this.o.deps.clock.now() - started) / 1000,
        );
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
