// The local cluster behaves like a real one: Deployments become Available with pods that run as
// processes on real addresses, EndpointSlices follow, containers restart, Prometheus scrapes them,
// and pods read their service-account token and mounted configuration.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http from "node:http";
import { readFile } from "node:fs/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { cluster, eventually, podLogPath, prometheusURL, useNamespace } from "./harness.js";

interface Echo {
  pod: string;
  podIP: string;
  version: string;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on("error", reject);
  });
}

async function listPods(namespace: string, selector: string): Promise<V1Pod[]> {
  const list = await cluster().core.listNamespacedPod({ namespace, labelSelector: selector });
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

async function sliceAddresses(namespace: string, service: string): Promise<string[]> {
  const slices = await cluster().discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return slices.items
    .flatMap((s) => s.endpoints)
    .filter((e) => e.conditions?.ready === true)
    .flatMap((e) => e.addresses)
    .sort();
}

function echoDeployment(namespace: string, replicas: number): object {
  return {
    metadata: { name: "echo", namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: "echo" } },
      template: {
        metadata: {
          labels: { app: "echo" },
          annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "8080" },
        },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "echo",
              image: "vireo/echo:v1",
              ports: [{ name: "http", containerPort: 8080 }],
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              ],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
              livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  };
}

describe("local cluster: a Deployment of an HTTP app", function () {
  this.timeout(120_000);
  const ns = useNamespace("deployment");

  before(async () => {
    const { core, apps } = cluster();
    await apps.createNamespacedDeployment({ namespace: ns(), body: echoDeployment(ns(), 3) });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: "echo", namespace: ns() },
        spec: { selector: { app: "echo" }, ports: [{ port: 80, targetPort: "http" }] },
      },
    });
  });

  it("becomes Available with 3 ready replicas", async () => {
    await eventually("deployment echo Available with 3 ready replicas", async () => {
      const d = await cluster().apps.readNamespacedDeployment({ name: "echo", namespace: ns() });
      const available = d.status?.conditions?.find((c) => c.type === "Available")?.status;
      return available === "True" && d.status?.readyReplicas === 3 ? true : undefined;
    });
  });

  it("lists the 3 pod IPs in its EndpointSlice, each answered by its own pod", async () => {
    const pods = await listPods(ns(), "app=echo");
    assert.equal(pods.length, 3);
    const ips = pods.map((p) => p.status?.podIP ?? "").sort();
    assert.equal(new Set(ips).size, 3);
    for (const ip of ips) assert.match(ip, /^10\.244\.\d+\.\d+$/);
    await eventually("EndpointSlice with the 3 pod IPs", async () => {
      const addrs = await sliceAddresses(ns(), "echo");
      return JSON.stringify(addrs) === JSON.stringify(ips) ? addrs : undefined;
    });
    for (const pod of pods) {
      const res = await get(`http://${pod.status?.podIP ?? ""}:8080/`);
      assert.equal(res.status, 200);
      const body = JSON.parse(res.body) as Echo;
      assert.equal(body.pod, pod.metadata?.name);
      assert.equal(body.podIP, pod.status?.podIP);
      assert.equal(body.version, "v1");
    }
  });

  it("replaces a deleted pod with one on a new IP, and the EndpointSlice follows", async () => {
    const before = await listPods(ns(), "app=echo");
    const victim = before[0];
    assert.ok(victim?.metadata?.name !== undefined);
    const oldIP = victim.status?.podIP ?? "";
    await cluster().core.deleteNamespacedPod({ name: victim.metadata.name, namespace: ns() });
    const after = await eventually("a replacement pod ready in the EndpointSlice", async () => {
      const pods = await listPods(ns(), "app=echo");
      const ready = pods.filter(
        (p) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
      );
      const addrs = await sliceAddresses(ns(), "echo");
      const ips = ready.map((p) => p.status?.podIP ?? "").sort();
      const gone = !pods.some((p) => p.metadata?.name === victim.metadata?.name);
      return gone && ready.length === 3 && JSON.stringify(addrs) === JSON.stringify(ips)
        ? ips
        : undefined;
    });
    assert.equal(after.includes(oldIP), false, `old IP ${oldIP} still listed: ${after.join(",")}`);
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    const uidPrefix = (victim.metadata.uid ?? "").replaceAll("-", "").slice(0, 12);
    assert.equal(netns.includes(`vp-${uidPrefix}`), false, "the deleted pod's netns remains");
  });

  it("is scraped by Prometheus through the pods' annotations", async () => {
    for (const pod of await listPods(ns(), "app=echo")) {
      await get(`http://${pod.status?.podIP ?? ""}:8080/hello`);
    }
    const series = await eventually(
      "echo_requests_total in Prometheus",
      async () => {
        const q = encodeURIComponent(`echo_requests_total{namespace="${ns()}"}`);
        const res = await get(`${prometheusURL}/api/v1/query?query=${q}`);
        const body = JSON.parse(res.body) as {
          status: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return body.data.result.length >= 3 ? body.data.result : undefined;
      },
      60_000,
      500,
    );
    const pods = new Set(series.map((s) => s.metric.pod));
    assert.ok(pods.size >= 3, `series from ${[...pods].join(", ")}`);
    for (const s of series) assert.ok(Number(s.value[1]) >= 1);
  });
});

describe("local cluster: container lifecycle", function () {
  this.timeout(120_000);
  const ns = useNamespace("lifecycle");

  async function pod(name: string): Promise<V1Pod> {
    return cluster().core.readNamespacedPod({ name, namespace: ns() });
  }

  it("restarts a crashing container with a growing restart count", async () => {
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "crasher" },
        spec: {
          containers: [
            { name: "app", image: "vireo/echo:v1", args: ["--exit-after-ms=300", "--exit-code=3"] },
          ],
        },
      },
    });
    const seen = await eventually(
      "restartCount 2 with the last exit code 3",
      async () => {
        const s = (await pod("crasher")).status?.containerStatuses?.[0];
        return (s?.restartCount ?? 0) >= 2 ? s : undefined;
      },
      90_000,
      500,
    );
    assert.equal(seen.lastState?.terminated?.exitCode, 3);
    assert.equal(seen.lastState.terminated.reason, "Error");
    const later = await eventually("CrashLoopBackOff", async () => {
      const s = (await pod("crasher")).status?.containerStatuses?.[0];
      return s?.state?.waiting?.reason === "CrashLoopBackOff" ? s : undefined;
    });
    assert.match(
      later.state?.waiting?.message ?? "",
      /back-off \d+s restarting failed container=app/,
    );
    assert.ok(later.restartCount >= 2);
  });

  it("shows an unknown image and a missing ConfigMap as waiting reasons", async () => {
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "broken" },
        spec: {
          containers: [
            { name: "noimage", image: "nginx:1.27" },
            {
              name: "noconfig",
              image: "busybox",
              command: ["sleep", "600"],
              env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "absent", key: "k" } } }],
            },
          ],
        },
      },
    });
    const statuses = await eventually("both containers waiting with reasons", async () => {
      const cs = (await pod("broken")).status?.containerStatuses ?? [];
      const reasons = cs.map((c) => c.state?.waiting?.reason);
      return reasons.length === 2 &&
        reasons.every((r) => r !== undefined && r !== "ContainerCreating")
        ? cs
        : undefined;
    });
    const byName = new Map(statuses.map((c) => [c.name, c.state?.waiting]));
    assert.match(byName.get("noimage")?.reason ?? "", /ErrImagePull|ImagePullBackOff/);
    assert.match(
      byName.get("noimage")?.message ?? "",
      /"nginx" is not in test\/cluster\/images.json/,
    );
    assert.equal(byName.get("noconfig")?.reason, "CreateContainerConfigError");
    assert.match(byName.get("noconfig")?.message ?? "", /configmap "absent" not found/);
  });

  it("gives a pod its service-account token and mounted ConfigMap", async () => {
    const { core } = cluster();
    await core.createNamespacedConfigMap({
      namespace: ns(),
      body: { metadata: { name: "settings" }, data: { greeting: "hello from a configmap" } },
    });
    // The pod proves its token is real by calling the API server with it: the answer names the
    // service account it authenticated as.
    const script = [
      "sa=/var/run/secrets/kubernetes.io/serviceaccount",
      'echo "namespace=$(cat $sa/namespace)"',
      'echo "config=$(cat /etc/settings/greeting)"',
      'curl -s --cacert $sa/ca.crt -H "Authorization: Bearer $(cat $sa/token)" ' +
        '"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat $sa/namespace)/secrets"',
      "echo; echo done",
      "sleep 600",
    ].join("; ");
    await core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "reader" },
        spec: {
          containers: [
            {
              name: "main",
              image: "busybox",
              command: ["sh", "-c", script],
              volumeMounts: [{ name: "settings", mountPath: "/etc/settings" }],
            },
          ],
          volumes: [{ name: "settings", configMap: { name: "settings" } }],
        },
      },
    });
    const log = await eventually("the reader pod's output", async () => {
      const text = await readFile(podLogPath(ns(), "reader", "main"), "utf8").catch(() => "");
      return text.includes("done") ? text : undefined;
    });
    assert.match(log, new RegExp(`namespace=${ns()}`));
    assert.match(log, /config=hello from a configmap/);
    assert.match(log, new RegExp(`system:serviceaccount:${ns()}:default`), log);
    assert.match(log, /"code": 403/, "the default service account may not list secrets");
  });

  it("opens a hostPort on the node's address, relayed to the pod", async () => {
    await cluster().core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "hostport" },
        spec: {
          containers: [
            {
              name: "app",
              image: "vireo/echo:v1",
              env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              ports: [{ containerPort: 8080, hostPort: 18080 }],
            },
          ],
        },
      },
    });
    const body = await eventually("the pod answering on 10.244.0.1:18080", async () => {
      const r = await get("http://10.244.0.1:18080/").catch(() => undefined);
      return r?.status === 200 ? (JSON.parse(r.body) as Echo) : undefined;
    });
    assert.equal(body.pod, "hostport");
    await cluster().core.deleteNamespacedPod({ name: "hostport", namespace: ns() });
    await eventually("the host port closed", async () =>
      (await get("http://10.244.0.1:18080/").then(
        () => false,
        () => true,
      ))
        ? true
        : undefined,
    );
  });

  it("stops a deleted pod with SIGTERM and removes it", async () => {
    const { core } = cluster();
    await core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: "graceful" },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: "main",
              image: "busybox",
              command: [
                "sh",
                "-c",
                "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done",
              ],
            },
          ],
        },
      },
    });
    await eventually("graceful running", async () =>
      (await pod("graceful")).status?.phase === "Running" ? true : undefined,
    );
    await eventually("graceful started", async () =>
      (await readFile(podLogPath(ns(), "graceful", "main"), "utf8").catch(() => "")).includes(
        "started",
      )
        ? true
        : undefined,
    );
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: "graceful", namespace: ns() });
    await eventually("pod graceful gone", async () => {
      try {
        await pod("graceful");
        return undefined;
      } catch {
        return true;
      }
    });
    assert.ok(Date.now() - t0 < 8000, "the container should stop on SIGTERM, not at the deadline");
    const log = await readFile(podLogPath(ns(), "graceful", "main"), "utf8");
    assert.match(log, /got TERM/);
  });
});
