// `vireo check`'s data-plane checks, through the API server only (as `linkerd check --proxy`):
// the webhook called for real (a dry-run pod, so the API server makes the TLS call with the
// caBundle it holds), every injected pod's proxy ready, connected and accepting its configuration
// (the gauges of its status port, read through the API server's pod proxy), and version skew
// between what the injector adds today and what the pods run.
import type { AppsV1Api, CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { parseInjectionConfig } from "../config/config.js";
import type { InjectConfig } from "../inject/config.js";
import { DEFAULT_INJECT_CONFIG } from "../inject/config.js";
import { INJECT_LABEL, PROXY_CONTAINER, STATUS_ANNOTATION, STATUS_PORT } from "../inject/names.js";
import type { CheckResult } from "./check-result.js";
import { apiMessage } from "../kube/api-errors.js";

/** Proxies whose status port is read at once (in batches). */
const CONCURRENCY = 8;
/** Pods named in a failure line; the rest are counted. */
const NAMED = 5;

const named = (pods: readonly string[]): string =>
  pods.slice(0, NAMED).join(", ") +
  (pods.length > NAMED ? ` and ${String(pods.length - NAMED)} more` : "");

const id = (p: V1Pod): string => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;

/** A dry-run pod that only the webhook can turn into an injected one. */
export async function webhookAnswers(core: CoreV1Api, namespace: string): Promise<string> {
  const pod = await core.createNamespacedPod({
    namespace,
    dryRun: "All",
    body: {
      metadata: { name: "vireo-check-probe", labels: { [INJECT_LABEL]: "enabled" } },
      spec: { containers: [{ name: "probe", image: "busybox" }] },
    },
  });
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  if (!init.includes(PROXY_CONTAINER)) {
    throw new Error(
      `a dry-run pod labelled ${INJECT_LABEL}=enabled in ${namespace} came back without ` +
        `${PROXY_CONTAINER} (init containers: ${init.join(", ") || "none"})`,
    );
  }
  return `a dry-run pod in ${namespace} came back injected (${init.join(", ")}): the API server reached the webhook over TLS`;
}

/** The injector's settings from the controller Deployment's `--injection-config`. */
export async function injectorOf(
  apps: AppsV1Api,
  namespace: string,
  release: string,
): Promise<InjectConfig> {
  const d = await apps.readNamespacedDeployment({ name: release, namespace });
  const flag = "--injection-config=";
  const args = d.spec?.template.spec?.containers.flatMap((c) => c.args ?? []) ?? [];
  const json = args.find((a) => a.startsWith(flag))?.slice(flag.length) ?? "{}";
  return parseInjectionConfig(json, namespace);
}

/** A gauge's value in a Prometheus exposition; undefined when the family is absent. */
export function gauge(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m === null ? undefined : Number(m[1]);
}

type ProxyState = "synced" | "disconnected" | "rejecting" | "unknown";

/** What one proxy's status port says; throws what the API server said when it cannot be read. */
async function proxyState(core: CoreV1Api, pod: V1Pod): Promise<ProxyState> {
  const text = await core.connectGetNamespacedPodProxyWithPath({
    name: `${pod.metadata?.name ?? ""}:${String(STATUS_PORT)}`,
    namespace: pod.metadata?.namespace ?? "",
    path: "stats/prometheus",
  });
  const connected = gauge(text, "vireo_proxy_xds_connected");
  const rejected = gauge(text, "vireo_proxy_xds_rejected_types");
  if (connected === undefined || rejected === undefined) return "unknown";
  if (connected !== 1) return "disconnected";
  return rejected > 0 ? "rejecting" : "synced";
}

function proxyReady(pod: V1Pod): boolean {
  return pod.status?.initContainerStatuses?.find((c) => c.name === PROXY_CONTAINER)?.ready === true;
}

/** Running, injected pods of the whole cluster. */
export async function injectedPods(core: CoreV1Api): Promise<V1Pod[]> {
  const pods = await core.listPodForAllNamespaces();
  return pods.items.filter(
    (p) =>
      p.metadata?.annotations?.[STATUS_ANNOTATION] !== undefined &&
      p.metadata.deletionTimestamp === undefined &&
      p.status?.phase === "Running",
  );
}

export async function proxiesReady(pods: readonly V1Pod[]): Promise<string> {
  const notReady = pods.filter((p) => !proxyReady(p)).map(id);
  if (notReady.length > 0) {
    throw new Error(
      `${String(notReady.length)} of ${String(pods.length)} proxies not ready (no configuration or certificate yet): ${named(notReady)}`,
    );
  }
  return Promise.resolve(`${String(pods.length)} injected pod(s), every proxy ready`);
}

export async function proxiesSynced(core: CoreV1Api, pods: readonly V1Pod[]): Promise<string> {
  const ready = pods.filter(proxyReady);
  const states: PromiseSettledResult<ProxyState>[] = [];
  for (let i = 0; i < ready.length; i += CONCURRENCY) {
    const batch = ready.slice(i, i + CONCURRENCY).map((p) => proxyState(core, p));
    states.push(...(await Promise.allSettled(batch)));
  }
  const by = new Map<string, string[]>();
  for (const [i, pod] of ready.entries()) {
    const s = states[i];
    if (s === undefined) continue;
    const key = s.status === "fulfilled" ? s.value : `unreadable (${apiMessage(s.reason)})`;
    by.set(key, [...(by.get(key) ?? []), id(pod)]);
  }
  const synced = by.get("synced")?.length ?? 0;
  by.delete("synced");
  if (by.size > 0) {
    const why: Record<string, string> = {
      disconnected: "not connected to the control plane",
      rejecting: "rejecting part of their configuration (NACK)",
      unknown: "not reporting their xDS state (a proxy older than this check)",
    };
    const lines = [...by].map(([k, ps]) => `${String(ps.length)} ${why[k] ?? k}: ${named(ps)}`);
    throw new Error(`${String(synced)} of ${String(ready.length)} synced; ${lines.join("; ")}`);
  }
  return `${String(synced)} of ${String(ready.length)} ready proxies connected, none rejecting its configuration`;
}

/** Pods injected by another version or running another proxy image than the injector adds now. */
export function versionSkew(pods: readonly V1Pod[], injector: InjectConfig): string[] {
  const lines: string[] = [];
  if (injector.version !== DEFAULT_INJECT_CONFIG.version) {
    lines.push(
      `this CLI is ${DEFAULT_INJECT_CONFIG.version}, the controller ${injector.version}: use the CLI of the installed version`,
    );
  }
  const byImage = new Map<string, string[]>();
  for (const p of pods) {
    const image = p.spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER)?.image ?? "?";
    let version = "?";
    try {
      const status = JSON.parse(p.metadata?.annotations?.[STATUS_ANNOTATION] ?? "{}") as {
        version?: unknown;
      };
      if (typeof status.version === "string") version = status.version;
    } catch {
      // an annotation that is not JSON: reported as version "?"
    }
    if (image === injector.proxyImage && version === injector.version) continue;
    const key = `${image} (injected by ${version})`;
    byImage.set(key, [...(byImage.get(key) ?? []), id(p)]);
  }
  for (const [key, ps] of byImage) {
    lines.push(
      `${String(ps.length)} pod(s) run ${key}, the injector adds ${injector.proxyImage} (${injector.version}); ` +
        `restart them to upgrade (kubectl rollout restart): ${named(ps)}`,
    );
  }
  return lines;
}

/** The data-plane checks, in the order they depend on each other. */
export async function meshChecks(
  api: { readonly core: CoreV1Api; readonly apps: AppsV1Api },
  o: { readonly namespace: string; readonly release: string; readonly probeNamespace: string },
  one: (name: string, f: () => Promise<string>) => Promise<CheckResult>,
): Promise<CheckResult[]> {
  const results = [
    await one("injection webhook answers over TLS", () =>
      webhookAnswers(api.core, o.probeNamespace),
    ),
  ];
  let pods: V1Pod[] = [];
  results.push(
    await one("proxies ready", async () => {
      pods = await injectedPods(api.core);
      return proxiesReady(pods);
    }),
  );
  results.push(await one("proxies connected and synced", () => proxiesSynced(api.core, pods)));
  const skew = await one("version skew", async () => {
    const lines = versionSkew(pods, await injectorOf(api.apps, o.namespace, o.release));
    if (lines.length > 0) throw new Error(lines.join("; "));
    return `CLI, controller and ${String(pods.length)} proxies at ${DEFAULT_INJECT_CONFIG.version}`;
  });
  // Skew is a warning: the pods keep working; a restart upgrades them.
  results.push(skew.ok ? skew : { ...skew, ok: true, warning: true });
  return results;
}
