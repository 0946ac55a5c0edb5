// Builds a container's environment the way the kubelet does: env and envFrom with their sources,
// the downward API, service-link variables for the API server, and $(VAR) expansion.
import type { V1Container, V1EnvVar, V1Pod } from "@kubernetes/client-node";
import type { ObjectSource } from "./sources.js";
import { MissingReferenceError } from "./sources.js";

export interface PodRuntimeInfo {
  readonly podIP: string;
  readonly hostIP: string;
  readonly apiHost: string;
  readonly apiPort: number;
}

/** The value of a downward-API field path, or undefined if the path is not supported. */
export function fieldValue(pod: V1Pod, info: PodRuntimeInfo, path: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m !== null) {
    const bag = m[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return bag?.[m[2] ?? ""] ?? "";
  }
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata?.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata?.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return info.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return info.hostIP;
    default:
      return undefined;
  }
}

/** The downward API's `key="value"` lines, sorted by key. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? "")}`)
    .join("\n");
}

/** Expands $(NAME) from `vars`; `$$` escapes a dollar; unknown references stay as written. */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  return input.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (all, name: string | undefined) => {
      if (all === "$$") return "$";
      return name !== undefined && vars.has(name) ? (vars.get(name) ?? "") : all;
    },
  );
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

export async function buildEnv(
  pod: V1Pod,
  container: V1Container,
  info: PodRuntimeInfo,
  source: ObjectSource,
  basePath: string,
): Promise<Map<string, string>> {
  const ns = pod.metadata?.namespace ?? "default";
  const env = new Map<string, string>([
    ["PATH", basePath],
    ["HOSTNAME", pod.metadata?.name ?? ""],
    ["HOME", "/root"],
    ["KUBERNETES_SERVICE_HOST", info.apiHost],
    ["KUBERNETES_SERVICE_PORT", String(info.apiPort)],
    ["KUBERNETES_SERVICE_PORT_HTTPS", String(info.apiPort)],
    ["KUBERNETES_PORT", `tcp://${info.apiHost}:${info.apiPort}`],
  ]);

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef !== undefined) {
      const cm = await source.configMap(ns, from.configMapRef.name ?? "");
      if (cm === undefined && from.configMapRef.optional !== true) {
        throw new MissingReferenceError(
          "CreateContainerConfigError",
          `configmap "${from.configMapRef.name ?? ""}" not found`,
        );
      }
      for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(prefix + k, v);
    }
    if (from.secretRef !== undefined) {
      const s = await source.secret(ns, from.secretRef.name ?? "");
      if (s === undefined && from.secretRef.optional !== true) {
        throw new MissingReferenceError(
          "CreateContainerConfigError",
          `secret "${from.secretRef.name ?? ""}" not found`,
        );
      }
      for (const k of Object.keys(s?.data ?? {})) env.set(prefix + k, decode(s?.data, k) ?? "");
    }
  }

  for (const v of container.env ?? []) {
    const value = await envValue(pod, container, v, info, source, env);
    if (value !== undefined) env.set(v.name, value);
  }
  return env;
}

async function envValue(
  pod: V1Pod,
  container: V1Container,
  v: V1EnvVar,
  info: PodRuntimeInfo,
  source: ObjectSource,
  sofar: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  if (v.valueFrom === undefined) return expand(v.value ?? "", sofar);
  const ns = pod.metadata?.namespace ?? "default";
  const from = v.valueFrom;
  if (from.fieldRef !== undefined) {
    const value = fieldValue(pod, info, from.fieldRef.fieldPath);
    if (value === undefined) {
      throw new MissingReferenceError(
        "CreateContainerConfigError",
        `env ${v.name}: unsupported fieldPath "${from.fieldRef.fieldPath}"`,
      );
    }
    return value;
  }
  if (from.resourceFieldRef !== undefined) {
    const resource = from.resourceFieldRef.resource;
    const [kind, name] = resource.split(".");
    const bag = kind === "limits" ? container.resources?.limits : container.resources?.requests;
    const q = bag?.[name ?? ""];
    return q ?? "0";
  }
  if (from.configMapKeyRef !== undefined) {
    const ref = from.configMapKeyRef;
    const cm = await source.configMap(ns, ref.name ?? "");
    const value = cm?.data?.[ref.key];
    if (value === undefined && ref.optional !== true) {
      throw new MissingReferenceError(
        "CreateContainerConfigError",
        `env ${v.name}: key "${ref.key}" of configmap "${ref.name ?? ""}" not found`,
      );
    }
    return value;
  }
  if (from.secretKeyRef !== undefined) {
    const ref = from.secretKeyRef;
    const s = await source.secret(ns, ref.name ?? "");
    const value = decode(s?.data, ref.key);
    if (value === undefined && ref.optional !== true) {
      throw new MissingReferenceError(
        "CreateContainerConfigError",
        `env ${v.name}: key "${ref.key}" of secret "${ref.name ?? ""}" not found`,
      );
    }
    return value;
  }
  return undefined;
}
