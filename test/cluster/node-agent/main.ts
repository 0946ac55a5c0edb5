// The local cluster's node agent: registers a Node and runs the pods bound to it as processes in
// their own network namespaces, as a kubelet would. See docs/local-cluster.md.
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger, parseLogLevel } from "../../../src/common/logger.js";
import { apiEventRecorder } from "./events.js";
import { loadImageMap } from "./images.js";
import { apiObjectSource } from "./kube-source.js";
import { IpAllocator, PodNetwork } from "./network.js";
import { postNodeStatus, registerNode, renewLease } from "./node.js";
import { PodManager } from "./pod-manager.js";
import { parseRelay, startRelay } from "./relay.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");

const { values } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    "state-dir": { type: "string" },
    "node-name": { type: "string", default: "vireo-node" },
    "pod-cidr": { type: "string", default: "10.244.0.0/16" },
    gateway: { type: "string", default: "10.244.0.1" },
    // The `kubernetes` Service, whose EndpointSlice (made by up.sh) is this agent's API relay.
    "api-service-host": { type: "string", default: "10.96.0.1" },
    bridge: { type: "string", default: "vireo0" },
    "apiserver-port": { type: "string", default: "16443" },
    "prometheus-port": { type: "string", default: "19090" },
    "backoff-base-seconds": { type: "string", default: "10" },
    "log-level": { type: "string", default: "info" },
  },
});

function required(name: string, v: string | undefined): string {
  if (v === undefined || v === "") {
    process.stderr.write(`node-agent: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}

const kubeconfigPath = required("kubeconfig", values.kubeconfig);
const stateDir = resolve(required("state-dir", values["state-dir"]));
const nodeName = values["node-name"];
const gateway = values.gateway;
const apiPort = Number(values["apiserver-port"]);
const log = createLogger({ component: "node-agent", level: parseLogLevel(values["log-level"]) });

const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const coord = kc.makeApiClient(CoordinationV1Api);
const network = new PodNetwork({
  bridge: values.bridge,
  cidr: values["pod-cidr"],
  gateway,
  nsPrefix: "vp-",
});

const identity = {
  name: nodeName,
  internalIP: gateway,
  podCIDR: values["pod-cidr"],
  kubeletVersion: "v1.34.4",
};

const manager = new PodManager({
  core,
  nodeName,
  targetsFile: join(stateDir, "prometheus", "targets", "pods.json"),
  clock: systemClock,
  log,
  source: apiObjectSource(core),
  images: () => loadImageMap(join(repoRoot, "test/cluster/images.json")),
  network,
  ips: IpAllocator.forCidr(values["pod-cidr"]),
  events: apiEventRecorder(core, nodeName, log),
  settings: {
    hostIP: gateway,
    apiHost: values["api-service-host"],
    apiPort: 443,
    stateDir: join(stateDir, "node"),
    logDir: join(stateDir, "logs", "pods"),
    repoRoot,
    launcher: join(here, "launch.sh"),
    nsPrefix: "vp-",
    basePath: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    backoffBaseMs: Number(values["backoff-base-seconds"]) * 1000,
    backoffMaxMs: 300_000,
    syncPeriodMs: 10_000,
  },
});

async function main(): Promise<void> {
  for (const ns of await network.leftovers()) {
    log.warn("removing network namespace left by an earlier run", { netns: ns });
    await network.destroy(ns);
  }
  const ownBridge = await network.ensureBridge();
  const relays = await Promise.all(
    [`443=127.0.0.1:${apiPort}`, `9090=127.0.0.1:${values["prometheus-port"]}`].map((s) =>
      startRelay(parseRelay(s, gateway)),
    ),
  );
  await registerNode(core, identity);
  await renewLease(coord, nodeName, 40);
  log.info("node registered", { node: nodeName, podCIDR: identity.podCIDR, gateway });

  const heartbeat = setInterval(() => {
    renewLease(coord, nodeName, 40)
      .then(() => postNodeStatus(core, identity, true))
      .catch((err: unknown) => {
        log.warn("heartbeat failed", { error: String(err) });
      });
  }, 10_000);

  const fieldSelector = `spec.nodeName=${nodeName}`;
  const informer = new ListWatch<V1Pod>(
    "/api/v1/pods",
    new Watch(kc),
    () => core.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  informer.on("add", (pod) => {
    manager.observe(pod);
  });
  informer.on("update", (pod) => {
    manager.observe(pod);
  });
  informer.on("delete", (pod) => {
    manager.forget(pod);
  });
  informer.on("error", (err: unknown) => {
    log.warn("pod watch failed, restarting", { error: String(err) });
    setTimeout(() => {
      void informer.start();
    }, 2000);
  });
  await informer.start();
  log.info("watching pods", { node: nodeName });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info("stopping: terminating pods", { signal, pods: manager.count });
    clearInterval(heartbeat);
    await informer.stop();
    await manager.stop();
    await postNodeStatus(core, identity, false).catch(() => undefined);
    for (const r of relays) r.close();
    // up.sh's bridge carries the route that keeps Service traffic on this machine: down.sh removes it.
    if (ownBridge) await network.removeBridge();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  // One pod's failed cleanup must not take every other pod on the node down with the agent.
  process.on("unhandledRejection", (err: unknown) => {
    log.error("unexpected failure", { error: err instanceof Error ? err : String(err) });
  });
}

main().catch((err: unknown) => {
  log.error("node agent failed", { error: err instanceof Error ? err : String(err) });
  process.exit(1);
});
