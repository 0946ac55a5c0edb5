// Pure builders of what a Rollout creates for its target Deployment: the primary Deployment (a
// copy with its own selector and its own copies of the configuration) and the three Services.
import type { V1Deployment, V1EndpointSlice, V1PodSpec, V1Service } from "@kubernetes/client-node";
import type { ServiceSpec } from "../domain/rollout.js";

export const SELECTOR_LABELS = ["app", "name", "app.kubernetes.io/name"] as const;
export const PRIMARY_SUFFIX = "-primary";
export const MANAGED_BY = "vireo.dev/rollout";

/** The label that tells target pods apart, or an error naming the ones looked for. */
export function selectorLabel(
  target: V1Deployment,
): { key: string; value: string } | { error: string } {
  const labels = target.spec?.selector.matchLabels ?? {};
  for (const key of SELECTOR_LABELS) {
    const value = labels[key];
    if (value !== undefined) return { key, value };
  }
  return { error: `spec.selector.matchLabels must contain one of ${SELECTOR_LABELS.join(", ")}` };
}

/** Points every ConfigMap and Secret reference at the primary's copy. */
export function withPrimaryConfigs(
  spec: V1PodSpec,
  configMaps: ReadonlySet<string>,
  secrets: ReadonlySet<string>,
): V1PodSpec {
  const cm = (n: string | undefined): string | undefined =>
    n !== undefined && configMaps.has(n) ? n + PRIMARY_SUFFIX : n;
  const sec = (n: string | undefined): string | undefined =>
    n !== undefined && secrets.has(n) ? n + PRIMARY_SUFFIX : n;
  const copy = structuredClone(spec);
  for (const c of [...(copy.initContainers ?? []), ...copy.containers]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef !== undefined)
        e.valueFrom.configMapKeyRef.name = cm(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef !== undefined)
        e.valueFrom.secretKeyRef.name = sec(e.valueFrom.secretKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef !== undefined) f.configMapRef.name = cm(f.configMapRef.name);
      if (f.secretRef !== undefined) f.secretRef.name = sec(f.secretRef.name);
    }
  }
  for (const v of copy.volumes ?? []) {
    if (v.configMap !== undefined) v.configMap.name = cm(v.configMap.name);
    if (v.secret !== undefined) v.secret.secretName = sec(v.secret.secretName);
    for (const p of v.projected?.sources ?? []) {
      if (p.configMap !== undefined) p.configMap.name = cm(p.configMap.name);
      if (p.secret !== undefined) p.secret.name = sec(p.secret.name);
    }
  }
  return copy;
}

export interface PrimaryInput {
  readonly target: V1Deployment;
  readonly rolloutName: string;
  readonly revision: string;
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
  /** Replicas to run; the target's when it has some, else the current primary's, at least 1. */
  readonly replicas: number;
}

/** The `<name>-primary` Deployment promoting `target`'s template at `revision`. */
export function primaryDeployment(p: PrimaryInput): V1Deployment | { error: string } {
  const sel = selectorLabel(p.target);
  if ("error" in sel) return sel;
  const name = (p.target.metadata?.name ?? "") + PRIMARY_SUFFIX;
  const primaryValue = sel.value + PRIMARY_SUFFIX;
  const template = structuredClone(p.target.spec?.template ?? {});
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [sel.key]: primaryValue },
    annotations: { ...template.metadata?.annotations, "vireo.dev/revision": p.revision },
  };
  if (template.spec !== undefined)
    template.spec = withPrimaryConfigs(template.spec, p.configMaps, p.secrets);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace: p.target.metadata?.namespace,
      labels: {
        ...p.target.metadata?.labels,
        [sel.key]: primaryValue,
        [MANAGED_BY]: p.rolloutName,
      },
      annotations: { "vireo.dev/revision": p.revision },
    },
    spec: {
      replicas: Math.max(1, p.replicas),
      selector: { matchLabels: { [sel.key]: primaryValue } },
      template,
      strategy: p.target.spec?.strategy,
      minReadySeconds: p.target.spec?.minReadySeconds,
      revisionHistoryLimit: p.target.spec?.revisionHistoryLimit,
      progressDeadlineSeconds: p.target.spec?.progressDeadlineSeconds,
    },
  };
}

export type ServiceRole = "apex" | "primary" | "canary";

/**
 * The Services of a Rollout: `<name>` (apex, what clients call), `<name>-primary` and
 * `<name>-canary`. The apex selects primary pods, so callers outside the mesh reach the stable
 * version; inside the mesh, proxies split the apex between the other two.
 */
export function rolloutService(
  role: ServiceRole,
  namespace: string,
  svc: ServiceSpec,
  selector: { key: string; value: string },
  rolloutName: string,
): V1Service {
  const name = role === "apex" ? svc.name : `${svc.name}-${role}`;
  const value = role === "canary" ? selector.value : selector.value + PRIMARY_SUFFIX;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { [MANAGED_BY]: rolloutName } },
    spec: {
      type: "ClusterIP",
      selector: { [selector.key]: value },
      ports: [
        {
          name: svc.portName,
          port: svc.port,
          targetPort: svc.targetPort,
          protocol: "TCP",
        },
      ],
    },
  };
}

/**
 * The apex Service given back on revert: selecting the target's pods again, without vireo's label.
 * Applied by vireo's field manager, it drops the fields vireo set and no longer declares.
 */
export function givenBackApex(
  namespace: string,
  svc: ServiceSpec,
  selector: { key: string; value: string },
): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: svc.name, namespace },
    spec: {
      type: "ClusterIP",
      selector: { [selector.key]: selector.value },
      ports: [{ name: svc.portName, port: svc.port, targetPort: svc.targetPort, protocol: "TCP" }],
    },
  };
}

/**
 * Whether the apex Service serves the target alone: it selects exactly the target's pods and its
 * EndpointSlices list at least one ready endpoint and none of the primary's pods.
 */
export function apexServesTarget(
  apex: V1Service | undefined,
  slices: readonly V1EndpointSlice[],
  target: V1Deployment,
): boolean {
  const sel = selectorLabel(target);
  if ("error" in sel || apex === undefined) return false;
  const selector = apex.spec?.selector ?? {};
  if (Object.keys(selector).length !== 1 || selector[sel.key] !== sel.value) return false;
  const primaryPods = `${target.metadata?.name ?? ""}${PRIMARY_SUFFIX}-`;
  const endpoints = slices.flatMap((s) => s.endpoints);
  if (endpoints.some((e) => e.targetRef?.name?.startsWith(primaryPods) === true)) return false;
  return endpoints.some((e) => e.conditions?.ready !== false);
}
