// Services on the local cluster behave as on a real one: ClusterIPs (kube-proxy) reachable from
// pods and from the host, names resolved by the cluster DNS (CoreDNS) with the kubelet's search
// path, the `kubernetes` Service reaching the API server, and nothing a pod sends to another
// network ever leaving the machine.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { cluster, eventually, podLogPath, useNamespace } from "./harness.js";

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve(body);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on("error", reject);
  });
}

const iptables = (...args: string[]): string =>
  execFileSync("iptables", ["-w", ...args], { encoding: "utf8" });

/** Packets the forwarding guard dropped going from the pods' bridge to another interface. */
function guardDrops(): number {
  const line = iptables("-t", "mangle", "-L", "VIREO-FORWARD-GUARD", "-v", "-n", "-x")
    .split("\n")
    .find((l) => /DROP\s+\S+\s+--\s+vireo0\s+!vireo0/.test(l));
  assert.ok(line !== undefined, "the guard's bridge -> elsewhere rule");
  return Number(line.trim().split(/\s+/)[0]);
}

async function podOutput(ns: string, pod: string, marker: string): Promise<string> {
  return eventually(
    `${pod}'s output`,
    async () => {
      const text = await readFile(podLogPath(ns, pod, "main"), "utf8").catch(() => "");
      return text.includes(marker) ? text : undefined;
    },
    60_000,
  );
}

describe("local cluster: Services, DNS and the safety rules", function () {
  this.timeout(120_000);
  const ns = useNamespace("services");
  let clusterIP = "";

  before(async () => {
    const { apps, core } = cluster();
    await apps.createNamespacedDeployment({
      namespace: ns(),
      body: {
        metadata: { name: "echo" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "echo" } },
          template: {
            metadata: { labels: { app: "echo" } },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                {
                  name: "echo",
                  image: "vireo/echo:v1",
                  ports: [{ name: "http", containerPort: 8080 }],
                  env: [
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  ],
                  readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const svc = await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: "echo" },
        spec: {
          selector: { app: "echo" },
          ports: [{ name: "http", port: 80, targetPort: "http" }],
        },
      },
    });
    clusterIP = svc.spec?.clusterIP ?? "";
    assert.match(clusterIP, /^10\.96\./);
  });

  it("keeps the safety rules in place: Service CIDR routed to the bridge, guards first", () => {
    const route = execFileSync("ip", ["route", "show", "10.96.0.0/16"], { encoding: "utf8" });
    assert.match(route, /10\.96\.0\.0\/16 dev vireo0/);
    // In the mangle table, where kube-proxy never writes, ahead of anything else there.
    const first = (chain: string): string | undefined =>
      iptables("-t", "mangle", "-S", chain).split("\n")[1];
    assert.equal(first("FORWARD"), "-A FORWARD -j VIREO-FORWARD-GUARD");
    assert.equal(first("POSTROUTING"), "-A POSTROUTING -j VIREO-OUTPUT-GUARD");
    const kubeProxyMangle = iptables("-t", "mangle", "-S").split("\n");
    assert.ok(
      !kubeProxyMangle.some((l) => /^-A \S+ .*-j KUBE-/.test(l)),
      kubeProxyMangle.join("\n"),
    );
    const out = iptables("-t", "mangle", "-S", "VIREO-OUTPUT-GUARD");
    assert.match(out, /-A VIREO-OUTPUT-GUARD -m conntrack --ctstate DNAT -j DROP/);
    const guard = iptables("-t", "mangle", "-S", "VIREO-FORWARD-GUARD");
    assert.match(guard, /-A VIREO-FORWARD-GUARD -i vireo0 ! -o vireo0 -j DROP/);
    assert.match(guard, /-A VIREO-FORWARD-GUARD ! -i vireo0 -o vireo0 -j DROP/);
    const fwd = (k: string): string =>
      execFileSync("sysctl", ["-n", k], { encoding: "utf8" }).trim();
    assert.equal(fwd("net.ipv4.conf.vireo0.forwarding"), "1");
    assert.equal(fwd("net.ipv4.conf.eth0.forwarding"), "0", "eth0 never forwards");
    assert.equal(fwd("net.ipv4.conf.all.route_localnet"), "0");
  });

  it("answers on a ClusterIP from the host", async () => {
    const body = await eventually("the echo Service from the host", () =>
      get(`http://${clusterIP}/`).catch(() => undefined),
    );
    assert.match(body, /echo-/);
  });

  it("resolves Service names with the kubelet's search path and connects by ClusterIP and name", async () => {
    await eventually("the echo Service to have a ready endpoint", () =>
      get(`http://${clusterIP}/`).catch(() => undefined),
    );
    const n = ns();
    const script = [
      "cat /etc/resolv.conf",
      ...["echo", `echo.${n}`, `echo.${n}.svc`, `echo.${n}.svc.cluster.local`].map(
        (name) => `echo "resolve ${name} -> $(getent hosts ${name} | cut -d' ' -f1)"`,
      ),
      `echo "by-ip: $(curl -s -m 5 http://${clusterIP}/)"`,
      `echo "by-name: $(curl -s -m 5 http://echo.${n}/)"`,
      // The kubernetes Service (10.96.0.1:443, through kube-proxy to the agent's API relay).
      "sa=/var/run/secrets/kubernetes.io/serviceaccount",
      'echo "api: $(curl -s -m 5 --cacert $sa/ca.crt -H "Authorization: Bearer $(cat $sa/token)" ' +
        'https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat $sa/namespace)/services/echo | tr -d "\\n ")"',
      'echo "ipv6: $(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)"',
      't0=$(date +%s%N); getent hosts example.invalid.; echo "external rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))"',
      "echo done",
      "sleep 600",
    ].join("; ");
    await cluster().core.createNamespacedPod({
      namespace: n,
      body: {
        metadata: { name: "client" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }],
        },
      },
    });
    const out = await podOutput(n, "client", "\ndone");
    assert.match(out, /^nameserver 10\.96\.0\.10$/m, out);
    assert.match(
      out,
      new RegExp(`^search ${n}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`, "m"),
    );
    assert.match(out, /^options ndots:5$/m);
    for (const name of ["echo", `echo.${n}`, `echo.${n}.svc`, `echo.${n}.svc.cluster.local`]) {
      assert.ok(out.includes(`resolve ${name} -> ${clusterIP}\n`), `${name}: ${out}`);
    }
    assert.match(out, /by-ip: .*echo-/);
    assert.match(out, /by-name: .*echo-/);
    // Authenticated as the pod's service account (which may not read Services: 403, not 401).
    assert.match(
      out,
      new RegExp(`api: .*User\\\\"system:serviceaccount:${n}:default\\\\".*"code":403`),
    );
    assert.match(out, /ipv6: 1/);
    const ext = /external rc=(\d+) ms=(\d+)/.exec(out);
    assert.ok(ext !== null, out);
    assert.notEqual(ext[1], "0", "an external name does not resolve");
    assert.ok(Number(ext[2]) < 2000, `an external name fails fast (${ext[2] ?? ""} ms)`);
  });

  it("drops what a pod sends to any other network before it leaves the machine", async () => {
    const before = guardDrops();
    const n = ns();
    // Each attempt is a SYN and its retransmission at 1 s that the guard must drop: 3 s, so that
    // a curl slow to start on a busy machine still sends at least one before its timeout.
    const targets = ["10.0.0.1", "172.16.0.1", "192.168.1.1"];
    const script = [
      ...targets.map((t) => `curl -s -m 3 http://${t}/ >/dev/null; echo "${t} rc=$?"`),
      "echo done",
      "sleep 600",
    ].join("; ");
    await cluster().core.createNamespacedPod({
      namespace: n,
      body: {
        metadata: { name: "prober" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }],
        },
      },
    });
    const out = await podOutput(n, "prober", "\ndone");
    for (const t of targets) {
      // 28: curl's timeout; 7 would mean something answered (refused), which it must not.
      assert.match(out, new RegExp(`${t.replaceAll(".", "\\.")} rc=28`), out);
    }
    assert.ok(
      guardDrops() >= before + targets.length,
      `the guard dropped ${String(guardDrops() - before)} packets, expected >= ${String(targets.length)}`,
    );
  });
});
