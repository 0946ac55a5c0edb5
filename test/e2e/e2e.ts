// What the end-to-end suite shares: vireo installed with its Helm chart on the local cluster, the
// example manifests of examples/demo applied as a user would (renamed into the suite's namespace),
// the alert receiver of examples/receiver, the CLI, and the load generators' per-second log.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { cluster, clusterDir, eventually, podLogPath, repoRoot } from "../integration/harness.js";

const run = promisify(execFile);

/** Where the example runs; the chart's controller reconciles only this namespace. */
export const NS = "vireo-e2e";
export const SYSTEM_NS = "vireo-e2e-system";
export const RELEASE = "vireo-e2e";
/** Not the demo's receiver port (18090), so `make demo KEEP=1` can stay up beside the suite. */
const RECEIVER_PORT = 18091;
const GATEWAY = "10.244.0.1";

const KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const kubeconfig = join(clusterDir, "kubeconfig");

async function helmPath(): Promise<string> {
  const env = await readFile(join(repoRoot, "test/cluster/versions.env"), "utf8");
  const v = (k: string): string => new RegExp(`^${k}=(\\S+)`, "m").exec(env)?.[1] ?? "";
  return join(
    process.env.HOME ?? "/root",
    `.cache/vireo-cluster/k8s-${v("K8S_VERSION")}-etcd-${v("ETCD_VERSION")}/helm`,
  );
}

export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = spawn(KUBECTL, ["--kubeconfig", kubeconfig, ...args]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(input ?? "");
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`kubectl ${args.join(" ")}: exit ${String(code)}: ${err}`);
  return out;
}

/** The vireo CLI, as a user runs it; resolves with its exit code and output. */
export async function vireo(
  args: string[],
  namespace = NS,
): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      "node",
      ["--import", "tsx", "src/cli/main.ts", ...args, "-n", namespace, "--kubeconfig", kubeconfig],
      { cwd: repoRoot },
    );
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/**
 * An examples/demo manifest moved into the suite's namespace and ports. The analysis interval stays
 * the example's: at 10 % of the load a shorter window holds too few canary requests to judge.
 */
export async function example(file: string): Promise<string> {
  const text = await readFile(join(repoRoot, "examples/demo", file), "utf8");
  return text
    .replaceAll("namespace: demo", `namespace: ${NS}`)
    .replace(/^ {2}name: demo$/m, `  name: ${NS}`)
    .replaceAll(".demo:", `.${NS}:`)
    .replaceAll("vireo.vireo-system.svc", `${RELEASE}.${SYSTEM_NS}.svc`)
    .replaceAll("cluster.local/ns/demo/", `cluster.local/ns/${NS}/`)
    .replaceAll(`${GATEWAY}:18090`, `${GATEWAY}:${String(RECEIVER_PORT)}`);
}

export async function apply(...files: string[]): Promise<void> {
  const docs = await Promise.all(files.map(example));
  await kubectl(["apply", "-f", "-"], docs.join("\n---\n"));
}

export interface Installed {
  readonly receiver: ChildProcess;
  uninstall(): Promise<void>;
}

/** helm install of charts/vireo with the local values, watching only the suite's namespace. */
export async function install(): Promise<Installed> {
  const receiver = spawn(
    "node",
    [
      "--import",
      "tsx",
      "examples/receiver/receiver.ts",
      "--host",
      GATEWAY,
      "--port",
      String(RECEIVER_PORT),
    ],
    { cwd: repoRoot, stdio: "ignore" },
  );
  const helm = await helmPath();
  // What an earlier run kept (VIREO_KEEP_NAMESPACES=1) goes first: the suite starts from nothing.
  await kubectl(["delete", "namespace", NS, "--ignore-not-found", "--timeout=120s"]);
  await kubectl(["create", "namespace", NS]);
  // As examples/demo/namespace.yaml: every pod of the suite gets its proxy from the injector.
  await kubectl(["label", "namespace", NS, "vireo.dev/inject=enabled"]);
  await run(
    helm,
    [
      "upgrade",
      "--install",
      RELEASE,
      "charts/vireo",
      "-n",
      SYSTEM_NS,
      "--create-namespace",
      "-f",
      "examples/demo/values-local.yaml",
      "--set",
      `watchNamespace=${NS},defaultAlertProvider.namespace=${NS}`,
      "--wait",
      "--timeout",
      "4m",
      "--kubeconfig",
      kubeconfig,
    ],
    { cwd: repoRoot },
  );
  return {
    receiver,
    async uninstall() {
      receiver.kill();
      await run(helm, ["uninstall", RELEASE, "-n", SYSTEM_NS, "--kubeconfig", kubeconfig]).catch(
        () => undefined,
      );
      if (process.env.VIREO_KEEP_NAMESPACES !== "1") {
        await kubectl(["delete", "namespace", NS, SYSTEM_NS, "--wait=false"]).catch(
          () => undefined,
        );
      }
    },
  };
}

/** The controller pod the chart runs. */
export async function controllerPod(): Promise<string> {
  const pods = await cluster().core.listNamespacedPod({
    namespace: SYSTEM_NS,
    labelSelector: "app.kubernetes.io/name=vireo",
  });
  const running = pods.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
  return running[0]?.metadata?.name ?? "";
}

/**
 * Who the chart's xDS Service sends proxies to (ready endpoints' pods) and, beside it, every
 * controller pod's readiness and serving label: what a hand-over failure needs to be told apart
 * (no label, not ready, or an EndpointSlice not updated).
 */
export async function xdsServing(): Promise<{ ready: string[]; described: string }> {
  const slices = await cluster().discovery.listNamespacedEndpointSlice({
    namespace: SYSTEM_NS,
    labelSelector: `kubernetes.io/service-name=${RELEASE}`,
  });
  const ready = slices.items.flatMap((s) =>
    s.endpoints
      .filter((e) => e.conditions?.ready === true)
      .map((e) => e.targetRef?.name ?? e.addresses.join(",")),
  );
  const pods = await cluster().core.listNamespacedPod({
    namespace: SYSTEM_NS,
    labelSelector: "app.kubernetes.io/name=vireo",
  });
  const podLines = pods.items.map((p) => {
    const readyCond = p.status?.conditions?.find((c) => c.type === "Ready");
    return `${p.metadata?.name ?? "?"} Ready=${readyCond?.status ?? "?"} serving=${
      p.metadata?.labels?.["vireo.dev/xds-serving"] ?? "-"
    }${p.metadata?.deletionTimestamp === undefined ? "" : " (deleting)"}`;
  });
  return {
    ready,
    described: `xDS Service endpoints ready: [${ready.join(", ")}]; pods: ${podLines.join("; ")}`,
  };
}

export async function killController(): Promise<string> {
  const pod = await controllerPod();
  await cluster().core.deleteNamespacedPod({
    namespace: SYSTEM_NS,
    name: pod,
    gracePeriodSeconds: 0,
  });
  return pod;
}

/**
 * Freezes the local cluster's kube-apiserver for `ms` (SIGSTOP, then SIGCONT): every client's
 * requests hang, as behind a partition, and nothing is lost. The process is the one up.sh
 * recorded.
 */
export async function freezeApiServer(ms: number): Promise<void> {
  const pid = Number(
    (await readFile(join(clusterDir, "pids", "kube-apiserver.pid"), "utf8")).trim(),
  );
  process.kill(pid, "SIGSTOP");
  try {
    await new Promise((r) => setTimeout(r, ms)); // the fault's length, not a wait for a condition
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

/** What the receiver has been sent: the webhook payloads' `event` and `message`. */
export async function alerts(): Promise<{ event: string; message: string }[]> {
  const res = await fetch(`http://${GATEWAY}:${String(RECEIVER_PORT)}/`);
  const all = (await res.json()) as { body?: { event?: string; message?: string } }[];
  return all.map((m) => ({ event: m.body?.event ?? "", message: m.body?.message ?? "" }));
}

export interface Status {
  readonly phase?: string;
  readonly canaryWeight?: number;
  readonly verifiedWeight?: number;
  readonly failedChecks?: number;
  readonly message?: string;
  readonly canaryRevision?: string;
}

export async function status(name = "podinfo"): Promise<Status> {
  const r = (await cluster().kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "vireo.dev",
    version: "v1alpha1",
    plural: "rollouts",
    namespace: NS,
    name,
  })) as { status?: Status };
  return r.status ?? {};
}

export async function until(
  what: string,
  done: (s: Status) => boolean,
  timeoutMs = 240_000,
  rollout = "podinfo",
): Promise<Status> {
  return eventually(
    what,
    async () => {
      const s = await status(rollout);
      if (done(s)) return s;
      // Not yet: what eventually reports if it never comes.
      throw new Error(
        `${s.phase ?? "-"} at ${String(s.verifiedWeight ?? 0)} %: ${s.message ?? ""}`,
      );
    },
    timeoutMs,
    250,
  );
}

/** A released Deployment: its container and the image the version tags. */
export interface Target {
  readonly deployment: string;
  readonly container: string;
  readonly image: string;
}

export const PODINFO: Target = { deployment: "podinfo", container: "app", image: "vireo/demo-app" };
export const GREETER: Target = {
  deployment: "greeter",
  container: "greeter",
  image: "vireo/grpc-greeter",
};

/** Changes the image and version label together, as examples/demo/podinfo.yaml says. */
export async function release(version: string, target = PODINFO): Promise<void> {
  const patch = {
    spec: {
      template: {
        metadata: { labels: { version } },
        spec: { containers: [{ name: target.container, image: `${target.image}:${version}` }] },
      },
    },
  };
  await kubectl(["-n", NS, "patch", "deployment", target.deployment, "-p", JSON.stringify(patch)]);
}

/** The container printing per-second lines in each load-generating Deployment. */
const LOAD_CONTAINER: Readonly<Record<string, string>> = {
  "grpc-client": "client",
  "burst-grpc": "client",
};

/** One second of a load generator's summary (examples/loadgen, examples/grpc/client.ts). */
export interface Second {
  readonly time: string;
  readonly sent: number;
  readonly ok: number;
  /** 5xx answers and requests with no answer at all: what a user sees as failures. */
  readonly failed: number;
  /** 4xx answers (403 from an authorization policy, for one). */
  readonly refused: number;
  readonly versions: Readonly<Record<string, number>>;
}

const LINE =
  /^(\d\d:\d\d:\d\d) {2}sent (\d+) {2}ok (\d+) {2}4xx (\d+) {2}5xx (\d+) {2}errors (\d+) {2}p50 .* {2}p99 .* {2}(.*)$/;

/** The per-second lines a load generator Deployment's pod has printed so far. */
export async function loadSeconds(app: string, namespace = NS): Promise<Second[]> {
  const pods = await cluster().core.listNamespacedPod({
    namespace,
    labelSelector: `app=${app}`,
  });
  const pod = pods.items[0]?.metadata?.name ?? "";
  const container = LOAD_CONTAINER[app] ?? "loadgen";
  const text = await readFile(podLogPath(namespace, pod, container), "utf8").catch(() => "");
  const seconds: Second[] = [];
  for (const l of text.split("\n")) {
    const m = LINE.exec(l);
    if (m === null) continue;
    const versions: Record<string, number> = {};
    for (const v of (m[7] ?? "").split(" ")) {
      const [name, n] = v.split("=");
      if (name !== undefined && n !== undefined) versions[name] = Number(n);
    }
    seconds.push({
      time: m[1] ?? "",
      sent: Number(m[2]),
      ok: Number(m[3]),
      failed: Number(m[5]) + Number(m[6]),
      refused: Number(m[4]),
      versions,
    });
  }
  return seconds;
}

/** Marks where a release starts in every load generator's log, to read what it saw later. */
export class LoadWindow {
  private constructor(private readonly starts: ReadonlyMap<string, number>) {}

  static async open(apps: readonly string[]): Promise<LoadWindow> {
    const starts = new Map<string, number>();
    for (const a of apps) starts.set(a, (await loadSeconds(a)).length);
    return new LoadWindow(starts);
  }

  async seconds(app: string): Promise<Second[]> {
    return (await loadSeconds(app)).slice(this.starts.get(app) ?? 0);
  }

  async totals(app: string): Promise<{ sent: number; failed: number; versions: Set<string> }> {
    const s = await this.seconds(app);
    return {
      sent: s.reduce((n, x) => n + x.sent, 0),
      failed: s.reduce((n, x) => n + x.failed, 0),
      versions: new Set(s.flatMap((x) => Object.keys(x.versions))),
    };
  }
}
