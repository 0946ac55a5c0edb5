// The injector: one pure function from a pod (or a pod template) to the injected pod and the JSON
// Patch between them. The webhook, `vireo inject` and the tests all call it; the contract it
// implements is docs/injection.md.
import type { V1Container, V1EnvVar, V1Pod, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import type { InjectConfig } from "./config.js";
import type { Json, PatchOperation } from "./json-patch.js";
import { diff } from "./json-patch.js";
import * as N from "./names.js";
import type { AppProbe } from "./probes.js";
import { rewriteProbes } from "./probes.js";

export type SkipCode =
  | "HostNetwork"
  | "OptedOut"
  | "AlreadyInjected"
  | "ControllerNamespace"
  | "NotSelected"
  | "BadAnnotation";

export interface Skip {
  readonly code: SkipCode;
  readonly message: string;
}

export interface InjectResult {
  /** The injected pod, or the input unchanged when skipped. */
  readonly pod: V1Pod;
  /** RFC 6902 operations from the input to `pod`; empty when skipped. */
  readonly patch: readonly PatchOperation[];
  readonly skipped?: Skip;
  /** Things the user should know about an injected pod (a probe left unchanged). */
  readonly warnings: readonly string[];
}

/** Skips that are a choice (no warning); the others mean the pod could not be injected. */
export const INTENTIONAL_SKIPS: ReadonlySet<SkipCode> = new Set([
  "HostNetwork",
  "OptedOut",
  "AlreadyInjected",
  "ControllerNamespace",
  "NotSelected",
]);

function skip(pod: V1Pod, code: SkipCode, message: string): InjectResult {
  return { pod, patch: [], skipped: { code, message }, warnings: [] };
}

function parsePorts(value: string, what: string): number[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s);
      if (!/^[0-9]+$/.test(s) || n < 1 || n > 65535) {
        throw new Error(`${what}: "${s}" is not a port number (1-65535)`);
      }
      return n;
    });
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function parseCidrs(value: string, what: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const m = CIDR.exec(s);
      const ok = m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
      if (!ok) throw new Error(`${what}: "${s}" is not an IPv4 CIDR like 10.0.0.0/8`);
      return s;
    });
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Decides whether `pod` is injected and renders it. `namespaceLabels`, when given, are checked
 * for the opt-in (the webhook leaves selection to its selectors and passes none; so does the CLI,
 * which injects what it is given).
 */
export function injectPod(
  pod: V1Pod,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  config: InjectConfig,
): InjectResult {
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const labels = meta.labels ?? {};
  const spec: V1PodSpec = pod.spec ?? { containers: [] };
  if (spec.hostNetwork === true) {
    return skip(
      pod,
      "HostNetwork",
      "the pod uses the host's network; capture would change the node",
    );
  }
  if (annotations[N.INJECT_ANNOTATION] === "disabled" || labels[N.INJECT_LABEL] === "disabled") {
    return skip(pod, "OptedOut", `the pod is annotated ${N.INJECT_ANNOTATION}: disabled`);
  }
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  if (
    annotations[N.STATUS_ANNOTATION] !== undefined ||
    all.some((c) => c.name === N.PROXY_CONTAINER)
  ) {
    return skip(pod, "AlreadyInjected", "the pod already has the vireo proxy");
  }
  if (meta.namespace !== undefined && meta.namespace === config.controllerNamespace) {
    return skip(pod, "ControllerNamespace", `namespace ${meta.namespace} runs the controller`);
  }
  if (
    namespaceLabels !== undefined &&
    namespaceLabels[N.INJECT_LABEL] !== "enabled" &&
    labels[N.INJECT_LABEL] !== "enabled"
  ) {
    return skip(
      pod,
      "NotSelected",
      `neither the pod nor its namespace is labelled ${N.INJECT_LABEL}=enabled`,
    );
  }

  let excludeIn: number[], excludeOutPorts: number[], excludeOutCidrs: string[];
  try {
    excludeIn = unique([
      N.STATUS_PORT,
      ...config.excludeInboundPorts,
      ...parsePorts(annotations[N.EXCLUDE_INBOUND_PORTS] ?? "", N.EXCLUDE_INBOUND_PORTS),
    ]);
    excludeOutPorts = unique([
      ...config.excludeOutboundPorts,
      ...parsePorts(annotations[N.EXCLUDE_OUTBOUND_PORTS] ?? "", N.EXCLUDE_OUTBOUND_PORTS),
    ]);
    excludeOutCidrs = unique([
      ...config.excludeOutboundIPRanges,
      ...parseCidrs(annotations[N.EXCLUDE_OUTBOUND_IP_RANGES] ?? "", N.EXCLUDE_OUTBOUND_IP_RANGES),
    ]);
  } catch (err) {
    return skip(pod, "BadAnnotation", err instanceof Error ? err.message : String(err));
  }

  const warnings: string[] = [];
  const probes: Record<string, AppProbe> = {};
  const containers = spec.containers.map((c) => {
    const r = rewriteProbes(c);
    Object.assign(probes, r.probes);
    warnings.push(...r.warnings);
    return r.container;
  });
  const inboundPorts = unique(
    spec.containers.flatMap((c) =>
      (c.ports ?? [])
        .filter((p) => p.protocol === undefined || p.protocol === "TCP")
        .map((p) => p.containerPort),
    ),
  );

  const init: V1Container = {
    name: N.INIT_CONTAINER,
    image: config.proxyImage,
    ...(config.proxyImagePullPolicy === undefined
      ? {}
      : { imagePullPolicy: config.proxyImagePullPolicy }),
    args: [
      "capture",
      "--proxy-uid",
      String(N.PROXY_UID),
      "--proxy-gid",
      String(N.PROXY_UID),
      "--inbound-port",
      String(N.INBOUND_PORT),
      "--outbound-port",
      String(N.OUTBOUND_PORT),
      "--exclude-inbound-ports",
      excludeIn.join(","),
      "--exclude-outbound-ports",
      excludeOutPorts.join(","),
      "--exclude-outbound-cidrs",
      excludeOutCidrs.join(","),
      "--include-outbound-cidrs",
      "*",
    ],
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
  };
  const field = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  const proxy: V1Container = {
    name: N.PROXY_CONTAINER,
    image: config.proxyImage,
    ...(config.proxyImagePullPolicy === undefined
      ? {}
      : { imagePullPolicy: config.proxyImagePullPolicy }),
    restartPolicy: "Always",
    ports: [{ name: "vireo-status", containerPort: N.STATUS_PORT, protocol: "TCP" }],
    env: [
      { name: "VIREO_XDS_ADDRESS", value: config.xdsAddress },
      { name: "VIREO_CA_ROOT", value: `${N.CA_MOUNT}/root-cert.pem` },
      { name: "VIREO_TOKEN_FILE", value: `${N.TOKEN_MOUNT}/token` },
      { name: "VIREO_CAPTURE", value: "redirect" },
      { name: "VIREO_INBOUND_PORTS", value: inboundPorts.join(",") },
      { name: "VIREO_APP_PROBES", value: JSON.stringify(probes) },
      { name: "VIREO_LOG_LEVEL", value: config.logLevel },
      field("POD_NAME", "metadata.name"),
      field("POD_NAMESPACE", "metadata.namespace"),
      field("POD_IP", "status.podIP"),
      field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
      field("VIREO_LABEL_VERSION", "metadata.labels['version']"),
    ],
    resources: config.resources,
    securityContext: {
      runAsUser: N.PROXY_UID,
      runAsGroup: N.PROXY_UID,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
    },
    startupProbe: {
      httpGet: { path: "/ready", port: N.STATUS_PORT },
      periodSeconds: 1,
      failureThreshold: 600,
    },
    readinessProbe: {
      httpGet: { path: "/ready", port: N.STATUS_PORT },
      periodSeconds: 2,
      failureThreshold: 30,
    },
    volumeMounts: [
      { name: N.CA_VOLUME, mountPath: N.CA_MOUNT, readOnly: true },
      { name: N.TOKEN_VOLUME, mountPath: N.TOKEN_MOUNT, readOnly: true },
    ],
  };
  const volumes: V1Volume[] = [
    { name: N.CA_VOLUME, configMap: { name: N.ROOT_CERT_CONFIGMAP } },
    {
      name: N.TOKEN_VOLUME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: N.TOKEN_AUDIENCE,
              expirationSeconds: N.TOKEN_TTL_SECONDS,
              path: "token",
            },
          },
        ],
      },
    },
  ];
  const status = {
    initContainers: [N.INIT_CONTAINER, N.PROXY_CONTAINER],
    volumes: volumes.map((v) => v.name),
    version: config.version,
  };
  const out: V1Pod = {
    ...pod,
    metadata: {
      ...meta,
      annotations: {
        ...annotations,
        [N.STATUS_ANNOTATION]: JSON.stringify(status),
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(N.STATUS_PORT),
        "prometheus.io/path": "/stats/prometheus",
      },
    },
    spec: {
      ...spec,
      initContainers: [init, proxy, ...(spec.initContainers ?? [])],
      containers,
      volumes: [...(spec.volumes ?? []), ...volumes],
    },
  };
  return { pod: out, patch: diff(toJson(pod), toJson(out)), warnings };
}

/** The plain JSON of an object (drops `undefined` members, as the wire form would). */
export function toJson(v: unknown): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}
