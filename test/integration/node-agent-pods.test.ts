// The node agent runs pods as a kubelet would for what injection needs: init containers in order,
// a native sidecar started (startup probe) before the app and stopped after it, a Job-like pod
// completing with its sidecar, runAsUser, and NET_ADMIN only for the container that asks for it.
// What `kubectl get pods` shows as STATUS is read from kubectl itself (it derives it from
// initContainerStatuses).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { cluster, clusterDir, eventually, podLogPath, useNamespace } from "./harness.js";

const KUBECTL = process.env.VIREO_KUBECTL ?? "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const loop = "while :; do sleep 0.2; done";
const forever = `trap 'exit 0' TERM; ${loop}`;

const sh = (name: string, script: string, extra: Partial<V1Container> = {}): V1Container => ({
  name,
  image: "busybox",
  args: ["-c", script],
  ...extra,
});

async function kubectlStatus(namespace: string, pod: string): Promise<string> {
  // The default columns: NAME READY STATUS RESTARTS AGE.
  const { stdout: row } = await promisify(execFile)(KUBECTL, [
    "--kubeconfig",
    join(clusterDir, "kubeconfig"),
    "-n",
    namespace,
    "get",
    "pod",
    pod,
    "--no-headers",
  ]);
  const cols = row.trim().split(/\s+/);
  return `${cols[1] ?? ""} ${cols[2] ?? ""}`;
}

async function pod(namespace: string, name: string): Promise<V1Pod> {
  return cluster().core.readNamespacedPod({ namespace, name });
}

describe("node agent: init containers, native sidecars, users and capabilities", function () {
  this.timeout(120_000);
  const ns = useNamespace("node-agent-pods");
  let dir = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vireo-it-agent-"));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs init containers, then a startup-gated sidecar, then the app; kubectl shows Init:N/M", async () => {
    const name = "ordered";
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name },
        spec: {
          terminationGracePeriodSeconds: 5,
          initContainers: [
            sh("setup", `sleep 2; echo setup >> ${dir}/order`),
            sh("proxy", `sleep 3; touch ${dir}/proxy-started; ${forever}`, {
              restartPolicy: "Always",
              startupProbe: {
                exec: { command: ["test", "-f", `${dir}/proxy-started`] },
                periodSeconds: 1,
                failureThreshold: 30,
              },
            }),
          ],
          containers: [
            // says which it saw, so a late write and an early start are told apart
            sh(
              "app",
              `if [ -f ${dir}/proxy-started ]; then echo app; else echo app-before-proxy; fi >> ${dir}/order; ${forever}`,
            ),
          ],
        },
      },
    });
    const seen = new Set<string>();
    await eventually(
      "the pod Running 2/2",
      async () => {
        const s = await kubectlStatus(ns(), name);
        seen.add(s);
        return s === "2/2 Running" ? s : undefined;
      },
      60_000,
    );
    process.stdout.write(`      kubectl READY STATUS seen: ${[...seen].join(" | ")}\n`);
    assert.ok(seen.has("0/2 Init:0/2") || seen.has("0/2 Pending"), [...seen].join(" | "));
    assert.ok(seen.has("0/2 Init:1/2"), [...seen].join(" | "));
    // Running 2/2 says the app's process started, not that its first line has run yet.
    const order = await eventually("the app's line in the order file", async () => {
      const lines = (await readFile(join(dir, "order"), "utf8")).trim().split("\n");
      return lines.length >= 2 ? lines : undefined;
    });
    assert.deepEqual(order, ["setup", "app"]);
    const p = await pod(ns(), name);
    assert.equal(p.status?.conditions?.find((c) => c.type === "Initialized")?.status, "True");
    assert.deepEqual(
      p.status?.initContainerStatuses?.map((c) => [c.name, c.started]),
      [
        ["setup", false],
        ["proxy", true],
      ],
    );
  });

  it("completes a Job-like pod with a sidecar, and stops the sidecar after the app", async () => {
    const name = "job";
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name },
        spec: {
          restartPolicy: "Never",
          initContainers: [
            sh(
              "proxy",
              // its own TERM trap (forever's would replace it)
              `trap 'echo proxy-term >> ${dir}/job; exit 0' TERM; touch ${dir}/up; ${loop}`,
              {
                restartPolicy: "Always",
              },
            ),
          ],
          containers: [
            sh("work", `until [ -f ${dir}/up ]; do sleep 0.1; done; echo work-done >> ${dir}/job`),
          ],
        },
      },
    });
    const done = await eventually("the pod Succeeded", async () => {
      const p = await pod(ns(), name);
      return p.status?.phase === "Succeeded" ? p : undefined;
    });
    assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.deepEqual((await readFile(join(dir, "job"), "utf8")).trim().split("\n"), [
      "work-done",
      "proxy-term",
    ]);
  });

  it("runs a container as its runAsUser and gives NET_ADMIN only to the container that asks", async () => {
    const script = "id -u; id -g; iptables -t nat -L > /dev/null 2>&1; echo iptables=$?";
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "caps" },
        spec: {
          restartPolicy: "Never",
          initContainers: [
            sh("capture", script, {
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
              },
            }),
          ],
          containers: [
            sh("app", script),
            sh("proxy", script, {
              securityContext: {
                runAsUser: 1337,
                runAsGroup: 1337,
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
              },
            }),
          ],
        },
      },
    });
    await eventually("the pod Succeeded", async () => {
      const p = await pod(ns(), "caps");
      return p.status?.phase === "Succeeded" ? p : undefined;
    });
    const log = async (c: string): Promise<string[]> =>
      (await readFile(podLogPath(ns(), "caps", c), "utf8")).trim().split("\n");
    assert.deepEqual(await log("capture"), ["0", "0", "iptables=0"]);
    assert.deepEqual(await log("app"), ["0", "0", "iptables=4"]);
    assert.deepEqual(await log("proxy"), ["1337", "1337", "iptables=4"]);
  });
});
