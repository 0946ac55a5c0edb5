// The Workload port: what the reconciler reads about a Rollout's Deployments and Services, and
// the changes it makes to them. KubeWorkload is the Kubernetes implementation.
import type {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  V1Deployment,
  V1EndpointSlice,
} from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { ServiceSpec } from "../domain/rollout.js";
import { apply, readOrUndefined } from "../kube/apply.js";
import type { DeploymentState } from "./deployment-state.js";
import { deploymentState } from "./deployment-state.js";
import {
  apexServesTarget,
  givenBackApex,
  MANAGED_BY,
  PRIMARY_SUFFIX,
  primaryDeployment,
  rolloutService,
  selectorLabel,
} from "./primary.js";
import type { ConfigData } from "./revision.js";
import { configRefs, revisionOf } from "./revision.js";

/** Where the target's replica count is kept while it is scaled to zero between releases. */
export const REPLICAS_ANNOTATION = "vireo.dev/replicas";

export interface WorkloadObservation {
  readonly target: DeploymentState & {
    readonly revision: string | undefined;
    readonly selectorError?: string;
  };
  readonly primary: DeploymentState & { readonly revision: string | undefined };
  readonly services: {
    readonly apex: boolean;
    readonly primary: boolean;
    readonly canary: boolean;
    /** The apex selects the target's pods and its endpoints are only those (a revert's doing). */
    readonly apexOnTarget: boolean;
  };
  /** Replicas the canary runs with when scaled up. */
  readonly desiredReplicas: number;
}

export interface RolloutRef {
  readonly namespace: string;
  readonly name: string;
  readonly targetName: string;
  readonly service: ServiceSpec;
}

export interface Workload {
  observe(r: RolloutRef): Promise<WorkloadObservation>;
  /** Creates or updates the primary (and its configuration copies) from the target's template. */
  ensurePrimary(r: RolloutRef): Promise<void>;
  ensureServices(r: RolloutRef): Promise<void>;
  /** Scales the target (the canary) to `replicas`; 0 remembers the count to come back to. */
  scaleTarget(r: RolloutRef, replicas: number): Promise<void>;
  /** Points the apex Service at the target's pods again, as before vireo took it over. */
  restoreApex(r: RolloutRef): Promise<void>;
  /** Deletes the primary Deployment, the primary Service and the configuration copies. */
  removePrimary(r: RolloutRef): Promise<void>;
  removeCanaryService(r: RolloutRef): Promise<void>;
}

export class KubeWorkload implements Workload {
  constructor(
    private readonly apps: AppsV1Api,
    private readonly core: CoreV1Api,
    private readonly objects: KubernetesObjectApi,
  ) {}

  async observe(r: RolloutRef): Promise<WorkloadObservation> {
    const ns = r.namespace;
    const [target, primary, apex, psvc, csvc] = await Promise.all([
      readOrUndefined(() =>
        this.apps.readNamespacedDeployment({ namespace: ns, name: r.targetName }),
      ),
      readOrUndefined(() =>
        this.apps.readNamespacedDeployment({ namespace: ns, name: r.targetName + PRIMARY_SUFFIX }),
      ),
      readOrUndefined(() =>
        this.core.readNamespacedService({ namespace: ns, name: r.service.name }),
      ),
      readOrUndefined(() =>
        this.core.readNamespacedService({ namespace: ns, name: `${r.service.name}-primary` }),
      ),
      readOrUndefined(() =>
        this.core.readNamespacedService({ namespace: ns, name: `${r.service.name}-canary` }),
      ),
    ]);
    const sel = target === undefined ? undefined : selectorLabel(target);
    // The apex's endpoints matter only once it selects the target's pods (during a revert).
    const onTarget =
      target !== undefined &&
      sel !== undefined &&
      !("error" in sel) &&
      apex?.spec?.selector?.[sel.key] === sel.value &&
      apexServesTarget(apex, await this.slices(ns, r.service.name), target);
    const revision =
      target === undefined
        ? undefined
        : revisionOf(target.spec?.template, await this.configData(target));
    const remembered = Number(target?.metadata?.annotations?.[REPLICAS_ANNOTATION] ?? NaN);
    const desiredReplicas = Math.max(
      1,
      (target?.spec?.replicas ?? 0) > 0
        ? (target?.spec?.replicas ?? 1)
        : Number.isFinite(remembered)
          ? remembered
          : (primary?.spec?.replicas ?? 1),
    );
    return {
      target: {
        ...deploymentState(target),
        revision,
        ...(sel !== undefined && "error" in sel ? { selectorError: sel.error } : {}),
      },
      primary: {
        ...deploymentState(primary),
        revision: primary?.metadata?.annotations?.["vireo.dev/revision"],
      },
      services: {
        apex: apex !== undefined,
        primary: psvc !== undefined,
        canary: csvc !== undefined,
        apexOnTarget: onTarget,
      },
      desiredReplicas,
    };
  }

  async ensurePrimary(r: RolloutRef): Promise<void> {
    const target = await this.apps.readNamespacedDeployment({
      namespace: r.namespace,
      name: r.targetName,
    });
    const configs = await this.configData(target);
    const refs = configRefs(target.spec?.template.spec);
    for (const c of configs) {
      const metadata = {
        name: c.name + PRIMARY_SUFFIX,
        namespace: r.namespace,
        labels: { "vireo.dev/rollout": r.name },
      };
      if (c.kind === "ConfigMap") {
        await apply(this.objects, { apiVersion: "v1", kind: "ConfigMap", metadata, data: c.data });
      } else {
        const data = Object.fromEntries(
          Object.entries(c.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
        );
        await apply(this.objects, { apiVersion: "v1", kind: "Secret", metadata, data });
      }
    }
    const existing = await readOrUndefined(() =>
      this.apps.readNamespacedDeployment({
        namespace: r.namespace,
        name: r.targetName + PRIMARY_SUFFIX,
      }),
    );
    const replicas =
      (target.spec?.replicas ?? 0) > 0
        ? (target.spec?.replicas ?? 1)
        : (existing?.spec?.replicas ?? 1);
    const primary = primaryDeployment({
      target,
      rolloutName: r.name,
      revision: revisionOf(target.spec?.template, configs),
      configMaps: refs.configMaps,
      secrets: refs.secrets,
      replicas,
    });
    if ("error" in primary) throw new Error(primary.error);
    await apply(this.objects, primary);
  }

  async ensureServices(r: RolloutRef): Promise<void> {
    const target = await this.apps.readNamespacedDeployment({
      namespace: r.namespace,
      name: r.targetName,
    });
    const sel = selectorLabel(target);
    if ("error" in sel) throw new Error(sel.error);
    for (const role of ["primary", "canary", "apex"] as const) {
      await apply(this.objects, rolloutService(role, r.namespace, r.service, sel, r.name));
    }
  }

  async scaleTarget(r: RolloutRef, replicas: number): Promise<void> {
    const target = await this.apps.readNamespacedDeployment({
      namespace: r.namespace,
      name: r.targetName,
    });
    const current = target.spec?.replicas ?? 1;
    const annotations =
      replicas === 0 && current > 0 ? { [REPLICAS_ANNOTATION]: String(current) } : {};
    await this.apps.patchNamespacedDeployment(
      {
        namespace: r.namespace,
        name: r.targetName,
        body: { metadata: { annotations }, spec: { replicas } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async restoreApex(r: RolloutRef): Promise<void> {
    const target = await this.apps.readNamespacedDeployment({
      namespace: r.namespace,
      name: r.targetName,
    });
    const sel = selectorLabel(target);
    if ("error" in sel) throw new Error(sel.error);
    await apply(this.objects, givenBackApex(r.namespace, r.service, sel));
  }

  async removePrimary(r: RolloutRef): Promise<void> {
    const namespace = r.namespace;
    await gone(() =>
      this.apps.deleteNamespacedDeployment({ namespace, name: r.targetName + PRIMARY_SUFFIX }),
    );
    await gone(() =>
      this.core.deleteNamespacedService({ namespace, name: r.service.name + PRIMARY_SUFFIX }),
    );
    const labelSelector = `${MANAGED_BY}=${r.name}`;
    await this.core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector });
    await this.core.deleteCollectionNamespacedSecret({ namespace, labelSelector });
  }

  async removeCanaryService(r: RolloutRef): Promise<void> {
    await gone(() =>
      this.core.deleteNamespacedService({
        namespace: r.namespace,
        name: `${r.service.name}-canary`,
      }),
    );
  }

  private async slices(namespace: string, service: string): Promise<V1EndpointSlice[]> {
    const list = await this.objects.list<V1EndpointSlice & { kind: string; apiVersion: string }>(
      "discovery.k8s.io/v1",
      "EndpointSlice",
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      `kubernetes.io/service-name=${service}`,
    );
    return list.items;
  }

  private async configData(target: V1Deployment): Promise<ConfigData[]> {
    const ns = target.metadata?.namespace ?? "default";
    const refs = configRefs(target.spec?.template.spec);
    const out: ConfigData[] = [];
    for (const name of refs.configMaps) {
      const cm = await readOrUndefined(() =>
        this.core.readNamespacedConfigMap({ namespace: ns, name }),
      );
      if (cm !== undefined) out.push({ kind: "ConfigMap", name, data: cm.data ?? {} });
    }
    for (const name of refs.secrets) {
      const s = await readOrUndefined(() =>
        this.core.readNamespacedSecret({ namespace: ns, name }),
      );
      // Secret data stays base64: hashed and copied as is, never decoded.
      if (s !== undefined) out.push({ kind: "Secret", name, data: s.data ?? {} });
    }
    return out;
  }
}

/** Deletes, counting an object already gone as deleted. */
async function gone(del: () => Promise<unknown>): Promise<void> {
  await readOrUndefined(del);
}
