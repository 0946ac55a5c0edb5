// Shared by every integration test: the local cluster (started once per run by hooks.ts), API
// clients for it, a namespace per test file, and polling with a readable failure.
import type { ControllerConfig } from "../../src/config/config.js";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
} from "@kubernetes/client-node";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const clusterDir = process.env.VIREO_CLUSTER_DIR ?? join(repoRoot, ".cluster");
export const prometheusURL = `http://127.0.0.1:${process.env.VIREO_PROMETHEUS_PORT ?? "19090"}`;

export interface Cluster {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly discovery: DiscoveryV1Api;
}

let cached: Cluster | undefined;

export function cluster(): Cluster {
  if (cached === undefined) {
    const kc = new KubeConfig();
    kc.loadFromFile(join(clusterDir, "kubeconfig"));
    cached = {
      kc,
      core: kc.makeApiClient(CoreV1Api),
      apps: kc.makeApiClient(AppsV1Api),
      discovery: kc.makeApiClient(DiscoveryV1Api),
    };
  }
  return cached;
}

/**
 * Creates a fresh namespace before the tests of the calling `describe` and deletes it after.
 * Returns a getter because the name exists only once the hook has run.
 */
export function useNamespace(label: string): () => string {
  let name = "";
  before(async () => {
    const stem = label.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    name = `it-${stem}-${randomBytes(3).toString("hex")}`.slice(0, 50);
    await cluster().core.createNamespace({ body: { metadata: { name } } });
  });
  after(async () => {
    if (name !== "" && process.env.VIREO_KEEP_NAMESPACES !== "1") {
      await cluster().core.deleteNamespace({ name });
    }
  });
  return () => name;
}

/** The log of one container as the node agent wrote it. */
export function podLogPath(namespace: string, pod: string, container: string): string {
  return join(clusterDir, "logs", "pods", `${namespace}_${pod}`, `${container}.log`);
}

/**
 * Polls `check` until it returns a value other than undefined. On timeout the error says what was
 * awaited and what the last attempt saw.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = "condition not met";
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Settings for a controller started inside a test: it reconciles only `namespace`, so tests (and
 * test runs) sharing the cluster never reconcile each other's Rollouts.
 */
export function controllerConfig(
  namespace: string,
  overrides: Partial<ControllerConfig> = {},
): ControllerConfig {
  return {
    kubeconfig: join(clusterDir, "kubeconfig"),
    xdsPort: 0,
    xdsHost: "127.0.0.1",
    xdsInsecure: false,
    metricsPort: 0,
    metricsHost: "127.0.0.1",
    logLevel: "warn",
    trustDomain: "cluster.local",
    prometheusUrl: undefined,
    namespace,
    leaderElection: false,
    watchNamespace: namespace,
    identity: `it-${namespace}`,
    podName: undefined,
    defaultAlertProvider: undefined,
    clusterName: undefined,
    // The suites start their controller with their proxies; none reconnect from an earlier one.
    xdsReconnectGraceMs: 0,
    ...overrides,
  };
}

/** A Rollout's status as the API server has it ({} before the first write). */
export async function rolloutStatus<S>(namespace: string, name: string): Promise<Partial<S>> {
  const r = (await cluster().kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "vireo.dev",
    version: "v1alpha1",
    plural: "rollouts",
    namespace,
    name,
  })) as { status?: Partial<S> };
  return r.status ?? {};
}

/**
 * Polls `read` until `done`, recording each value whose `key` differs from the last recorded one:
 * the states a Rollout went through, for assertions and failure messages.
 */
export async function recordUntil<S>(
  what: string,
  read: () => Promise<S>,
  key: (s: S | undefined) => string,
  done: (s: S) => boolean,
  timeoutMs: number,
  intervalMs: number,
): Promise<S[]> {
  const seen: S[] = [];
  await eventually(
    what,
    async () => {
      const s = await read();
      if (key(seen.at(-1)) !== key(s)) seen.push(s);
      if (done(s)) return true;
      // What a timeout reports: the states seen so far, and the last one whole.
      throw new Error(`states ${seen.map((x) => key(x)).join(" -> ")}; now ${JSON.stringify(s)}`);
    },
    timeoutMs,
    intervalMs,
  );
  return seen;
}

/**
 * A pod that is never scheduled (no node matches), for tests that need only the object: its
 * labels, its name. Created in `namespace`.
 */
export async function standInPod(namespace: string, name: string): Promise<void> {
  await cluster().core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        nodeSelector: { "vireo.dev/no-such-node": "true" },
        containers: [{ name: "c", image: "busybox" }],
      },
    },
  });
}
