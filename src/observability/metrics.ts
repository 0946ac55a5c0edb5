// The controller's own Prometheus metrics, on its own registry (no global default registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { XdsEvent } from "../xds/server/stream-context.js";

/** What the per-Rollout series say. */
export interface RolloutMetricState {
  readonly phase: string;
  readonly canaryWeight: number;
  readonly verifiedWeight: number;
  readonly canaryRevision?: string;
  readonly primaryRevision?: string;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly xdsClients = new Gauge({
    name: "vireo_xds_clients",
    help: "Connected xDS clients.",
    labelNames: ["transport"],
    registers: [this.registry],
  });
  readonly xdsAcks = new Counter({
    name: "vireo_xds_acks_total",
    help: "ACKs received, by resource type.",
    labelNames: ["type"],
    registers: [this.registry],
  });
  readonly xdsNacks = new Counter({
    name: "vireo_xds_nacks_total",
    help: "NACKs received, by resource type.",
    labelNames: ["type"],
    registers: [this.registry],
  });
  readonly xdsSnapshots = new Counter({
    name: "vireo_xds_snapshots_total",
    help: "Snapshots published.",
    registers: [this.registry],
  });
  readonly xdsSnapshotVersion = new Gauge({
    name: "vireo_xds_snapshot_version",
    help: "Version of the current snapshot.",
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "vireo_reconcile_duration_seconds",
    help: "Time to reconcile one Rollout.",
    labelNames: ["result"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "vireo_workqueue_depth",
    help: "Rollouts waiting to be reconciled.",
    registers: [this.registry],
  });
  readonly rolloutInfo = new Gauge({
    name: "vireo_rollout_info",
    help: "One series per Rollout with its revisions.",
    labelNames: ["namespace", "name", "canary_revision", "primary_revision"],
    registers: [this.registry],
  });
  readonly rolloutPhase = new Gauge({
    name: "vireo_rollout_phase",
    help: "1 for the Rollout's current phase.",
    labelNames: ["namespace", "name", "phase"],
    registers: [this.registry],
  });
  readonly rolloutWeight = new Gauge({
    name: "vireo_rollout_weight",
    help: "Canary weight, requested and verified.",
    labelNames: ["namespace", "name", "kind"],
    registers: [this.registry],
  });

  readonly kubeApiFailures = new Counter({
    name: "vireo_kube_api_failures_total",
    help: "Failed Kubernetes API calls and watches outside a reconcile, by operation and whether they were retried or given up.",
    labelNames: ["operation", "outcome"],
    registers: [this.registry],
  });
  readonly unhandledRejections = new Counter({
    name: "vireo_unhandled_rejections_total",
    help: "Promise rejections nothing handled (each is a defect, logged with its stack); the process keeps running.",
    registers: [this.registry],
  });

  /** The info labels each Rollout's series carries now, so a revision change replaces it. */
  private readonly infoLabels = new Map<string, Record<string, string>>();

  /** A Rollout's phase, weights and revisions after a reconcile: one series set per Rollout. */
  rolloutObserved(
    namespace: string,
    name: string,
    s: RolloutMetricState,
    phases: readonly string[],
  ): void {
    for (const phase of phases)
      this.rolloutPhase.set({ namespace, name, phase }, phase === s.phase ? 1 : 0);
    this.rolloutWeight.set({ namespace, name, kind: "requested" }, s.canaryWeight);
    this.rolloutWeight.set({ namespace, name, kind: "verified" }, s.verifiedWeight);
    const info = {
      namespace,
      name,
      canary_revision: s.canaryRevision ?? "",
      primary_revision: s.primaryRevision ?? "",
    };
    const key = `${namespace}/${name}`;
    const before = this.infoLabels.get(key);
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(info))
      this.rolloutInfo.remove(before);
    this.infoLabels.set(key, info);
    this.rolloutInfo.set(info, 1);
  }

  /** A Rollout that is gone leaves no series behind. */
  rolloutGone(namespace: string, name: string, phases: readonly string[]): void {
    for (const phase of phases) this.rolloutPhase.remove({ namespace, name, phase });
    for (const kind of ["requested", "verified"])
      this.rolloutWeight.remove({ namespace, name, kind });
    const key = `${namespace}/${name}`;
    const info = this.infoLabels.get(key);
    if (info !== undefined) this.rolloutInfo.remove(info);
    this.infoLabels.delete(key);
  }

  private caExpiry: (() => { issuer: number; root: number }) | undefined;
  readonly caNotAfter = new Gauge<"certificate">({
    name: "vireo_ca_not_after_seconds",
    help: "When the CA's certificates expire (Unix seconds): the issuer (renewed at 2/3 of its life) and the active root. Alert when the issuer is within 30 days.",
    labelNames: ["certificate"],
    registers: [this.registry],
    collect: () => {
      const e = this.caExpiry?.();
      if (e === undefined) return;
      this.caNotAfter.set({ certificate: "issuer" }, Math.floor(e.issuer / 1000));
      this.caNotAfter.set({ certificate: "root" }, Math.floor(e.root / 1000));
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "vireo_controller_" });
  }

  /** Reports the CA's expiry at each scrape (ControllerSecurity.expiry). */
  watchCa(expiry: () => { issuer: number; root: number }): void {
    this.caExpiry = expiry;
  }

  /** Counts the control plane's connections, ACKs and NACKs. */
  onXdsEvent(e: XdsEvent): void {
    const type = "typeUrl" in e ? e.typeUrl.slice(e.typeUrl.lastIndexOf(".") + 1) : "";
    switch (e.kind) {
      case "connect":
        this.xdsClients.inc({ transport: e.client.transport });
        break;
      case "disconnect":
        this.xdsClients.dec({ transport: e.client.transport });
        break;
      case "ack":
        this.xdsAcks.inc({ type });
        break;
      case "nack":
        this.xdsNacks.inc({ type });
        break;
    }
  }
}
