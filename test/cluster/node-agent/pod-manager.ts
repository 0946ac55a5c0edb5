// Keeps the pods bound to this node running: starts a runner per pod, terminates it when the pod
// is deleted, writes pod status (only when it changed) and the Prometheus target list.
import { isDeepStrictEqual } from "node:util";
import type { CoreV1Api, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { ApiException, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Logger } from "../../../src/common/logger.js";
import { PodRunner } from "./pod-runner.js";
import type { PodRunnerDeps } from "./pod-runner.js";
import type { RepoAccess } from "./repo-access.js";
import { repoAccess } from "./repo-access.js";
import type { ScrapeTarget } from "./targets.js";
import { scrapeTarget, writeTargets } from "./targets.js";

export interface PodManagerDeps extends Omit<PodRunnerDeps, "onChange" | "access"> {
  readonly core: CoreV1Api;
  readonly nodeName: string;
  readonly targetsFile: string;
}

interface Writer {
  last: V1PodStatus | undefined;
  pending: boolean;
  running: Promise<void> | undefined;
}

const STATUS_RETRY_MS = 1000;

export class PodManager {
  private readonly runners = new Map<string, PodRunner>();
  private readonly writers = new Map<string, Writer>();
  private readonly log: Logger;
  private targetsDirty = false;
  private targetsWriting: Promise<void> | undefined;
  private lastTargets = "";
  private stopping = false;
  /** Shared by the runners, so each uid's access to the checkout is checked once per agent. */
  private readonly access: RepoAccess;

  constructor(private readonly deps: PodManagerDeps) {
    this.log = deps.log;
    this.access = repoAccess(deps.settings.repoRoot);
  }

  /** Called for every add/update event of a pod bound to this node. */
  observe(pod: V1Pod): void {
    if (this.stopping || pod.spec?.nodeName !== this.deps.nodeName) return;
    const uid = pod.metadata?.uid ?? "";
    let runner = this.runners.get(uid);
    if (runner === undefined) {
      const phase = pod.status?.phase;
      if (pod.metadata?.deletionTimestamp !== undefined) {
        void this.finalizeDeletion(pod);
        return;
      }
      if (phase === "Succeeded" || phase === "Failed") return;
      runner = new PodRunner(pod, {
        ...this.deps,
        access: this.access,
        onChange: (r) => {
          this.changed(r);
        },
      });
      this.runners.set(uid, runner);
      this.log.info("pod assigned", { namespace: runner.namespace, pod: runner.name });
      void runner.start();
      return;
    }
    runner.update(pod);
    if (pod.metadata?.deletionTimestamp !== undefined) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? undefined;
      void runner.terminate(grace).then(() => this.finalizeDeletion(pod));
    }
  }

  /** Called when the pod object is gone (force-deleted or deleted by us). */
  forget(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? "";
    const runner = this.runners.get(uid);
    if (runner === undefined) return;
    void runner.terminate(0).then(() => {
      this.runners.delete(uid);
      this.writers.delete(uid);
      this.markTargets();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.runners.values()].map((r) => r.terminate(5)));
    await writeTargets(this.deps.targetsFile, []);
  }

  get count(): number {
    return this.runners.size;
  }

  private async finalizeDeletion(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    const runner = this.runners.get(uid);
    if (runner !== undefined) await this.flushStatus(runner);
    try {
      await this.deps.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? "",
        namespace: pod.metadata?.namespace ?? "default",
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (!(err instanceof ApiException && (err.code === 404 || err.code === 409))) {
        this.log.error("pod deletion failed", { pod: pod.metadata?.name, error: String(err) });
      }
    }
    this.runners.delete(uid);
    this.writers.delete(uid);
    this.markTargets();
  }

  private changed(runner: PodRunner): void {
    this.markTargets();
    const w = this.writer(runner.uid);
    w.pending = true;
    w.running ??= this.drain(runner, w).finally(() => {
      w.running = undefined;
    });
  }

  private writer(uid: string): Writer {
    let w = this.writers.get(uid);
    if (w === undefined) {
      w = { last: undefined, pending: false, running: undefined };
      this.writers.set(uid, w);
    }
    return w;
  }

  private async flushStatus(runner: PodRunner): Promise<void> {
    const w = this.writer(runner.uid);
    w.pending = true;
    await w.running;
    await this.drain(runner, w);
  }

  /** Writes the latest status until nothing new is pending; identical statuses are skipped. */
  private async drain(runner: PodRunner, w: Writer): Promise<void> {
    while (w.pending) {
      w.pending = false;
      const status = runner.status();
      if (w.last !== undefined && isDeepStrictEqual(w.last, status)) continue;
      try {
        await this.deps.core.patchNamespacedPodStatus(
          { name: runner.name, namespace: runner.namespace, body: { status } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        w.last = status;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return;
        this.log.warn("pod status write failed, retrying", {
          pod: runner.name,
          error: String(err),
        });
        await this.deps.clock.sleep(STATUS_RETRY_MS);
        w.pending = true;
      }
    }
  }

  private markTargets(): void {
    this.targetsDirty = true;
    this.targetsWriting ??= (async () => {
      while (this.targetsDirty) {
        this.targetsDirty = false;
        const targets: ScrapeTarget[] = [];
        for (const r of this.runners.values()) {
          const t = r.running ? scrapeTarget(r.object, r.ip) : undefined;
          if (t !== undefined) targets.push(t);
        }
        const text = JSON.stringify(targets);
        if (text === this.lastTargets) continue;
        await writeTargets(this.deps.targetsFile, targets).catch((err: unknown) => {
          this.log.error("writing prometheus targets failed", { error: String(err) });
        });
        this.lastTargets = text;
      }
    })().finally(() => {
      this.targetsWriting = undefined;
    });
  }
}
