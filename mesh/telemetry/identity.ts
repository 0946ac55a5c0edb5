// Who this proxy is, as its metrics report it: the workload it runs beside, parsed once from
// options or the environment the sidecar injector sets (downward API) at start.
import { DEFAULT_DOMAIN } from "../../src/xds/model.js";

export interface ProxyIdentity {
  /** The workload (Deployment) name: `podinfo`, `podinfo-primary`. */
  readonly workload: string;
  readonly namespace: string;
  /** Pod label `app.kubernetes.io/version`, else `version`, else `unknown`. */
  readonly version: string;
  readonly serviceAccount: string;
  readonly trustDomain: string;
  /** Cluster DNS domain that bare Service names are expanded with. */
  readonly domain: string;
}

export const UNKNOWN = "unknown";
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

export interface IdentityInput {
  readonly workload?: string;
  /** Used to infer the workload when `workload` is absent. */
  readonly podName?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string | undefined>>;
  readonly serviceAccount?: string;
  readonly trustDomain?: string;
  readonly domain?: string;
}

/**
 * Environment variables read by `identityFromEnv`; the injector fills them with downward API
 * field references (`metadata.labels['version']` and so on; a missing label reads as "").
 */
export const IDENTITY_ENV = {
  workload: "VIREO_WORKLOAD_NAME",
  podName: "POD_NAME",
  namespace: "POD_NAMESPACE",
  serviceAccount: "SERVICE_ACCOUNT",
  trustDomain: "VIREO_TRUST_DOMAIN",
  domain: "VIREO_CLUSTER_DOMAIN",
  appVersionLabel: "VIREO_LABEL_APP_VERSION",
  versionLabel: "VIREO_LABEL_VERSION",
} as const;

const nonEmpty = (s: string | undefined): string | undefined =>
  s === undefined || s.trim() === "" ? undefined : s.trim();

/** `app.kubernetes.io/version` wins over `version`, as Istio's canonical revision does. */
export function versionFromLabels(
  labels: Readonly<Record<string, string | undefined>> | undefined,
): string {
  return nonEmpty(labels?.["app.kubernetes.io/version"]) ?? nonEmpty(labels?.version) ?? UNKNOWN;
}

/**
 * The Deployment behind a pod name, as Istio infers it: `podinfo-7d9f8c6b5-x2x9q` → `podinfo`
 * (ReplicaSet hash and pod suffix dropped). Other names are returned as they are.
 */
export function workloadFromPodName(podName: string): string {
  const m = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/.exec(
    podName,
  );
  return m?.[1] ?? podName;
}

export function proxyIdentity(input: IdentityInput): ProxyIdentity {
  const podName = nonEmpty(input.podName);
  return {
    workload:
      nonEmpty(input.workload) ?? (podName === undefined ? UNKNOWN : workloadFromPodName(podName)),
    namespace: nonEmpty(input.namespace) ?? UNKNOWN,
    version: versionFromLabels(input.labels),
    serviceAccount: nonEmpty(input.serviceAccount) ?? "default",
    trustDomain: nonEmpty(input.trustDomain) ?? DEFAULT_TRUST_DOMAIN,
    domain: nonEmpty(input.domain) ?? DEFAULT_DOMAIN,
  };
}

export function identityFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  overrides: IdentityInput = {},
): ProxyIdentity {
  const e = IDENTITY_ENV;
  return proxyIdentity({
    workload: overrides.workload ?? env[e.workload],
    podName: overrides.podName ?? env[e.podName],
    namespace: overrides.namespace ?? env[e.namespace],
    labels: overrides.labels ?? {
      "app.kubernetes.io/version": env[e.appVersionLabel],
      version: env[e.versionLabel],
    },
    serviceAccount: overrides.serviceAccount ?? env[e.serviceAccount],
    trustDomain: overrides.trustDomain ?? env[e.trustDomain],
    domain: overrides.domain ?? env[e.domain],
  });
}

/** `spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>` (DESIGN.md, "Names"). */
export function spiffeId(identity: ProxyIdentity): string {
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}
