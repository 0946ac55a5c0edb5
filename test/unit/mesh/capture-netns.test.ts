// Transparent capture for real, without a cluster: two network namespaces of our own joined by a
// veth pair (10.253.0.0/24, nothing routed anywhere else), the capture step's real iptables rules
// in the "pod" namespace, the real proxy there as gid/uid 1337, the app next to it, and servers
// and clients in the "outside" namespace. Needs root (CI's unit tier runs as root).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { execFile, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import type { PodProxyConfig } from "./capture-netns/pod-proxy.js";

const exec = promisify(execFile);
const tag = String(process.pid % 100000);
const POD = `vtcap-pod-${tag}`;
const OUT = `vtcap-out-${tag}`;
const POD_IP = "10.253.0.2";
const OUT_IP = "10.253.0.3";
/** An address nobody has: the "ClusterIP" the app dials; only the capture gives it meaning. */
const SERVICE_IP = "10.253.0.100";
const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (after `from`) that `test` accepts. */
  waitFor(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

const procs: ChildProcess[] = [];

function start(ns: string, argv: readonly string[]): Proc {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  procs.push(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  // The proxy logs to stderr: both streams are read as lines.
  for (const input of [child.stdout, child.stderr]) {
    createInterface({ input }).on("line", (l) => {
      lines.push(l);
      for (const w of waiters) w();
    });
  }
  return {
    child,
    lines,
    waitFor: (test, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(test);
          if (hit !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${argv.join(" ")}: no matching line in ${timeoutMs} ms; got ${JSON.stringify(lines)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        child.once("exit", (code) => {
          reject(
            new Error(`${argv.join(" ")} exited ${String(code)}; got ${JSON.stringify(lines)}`),
          );
        });
        check();
      }),
  };
}

async function inNs(
  ns: string,
  argv: readonly string[],
  timeoutMs = 15_000,
): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await exec("ip", ["netns", "exec", ns, ...argv], {
      cwd: ROOT,
      timeout: timeoutMs,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: e.stdout ?? "" };
  }
}

const sh = async (...argv: string[]): Promise<void> => {
  await exec(argv[0] ?? "", argv.slice(1));
};
const tsx = (file: string, ...args: string[]): string[] => [
  "node",
  "--import",
  "tsx",
  `${HERE}${file}`,
  ...args,
];

/** uid 1337 too when it can read the checkout (world-readable path); gid 1337 alone otherwise. */
function proxyUser(): string[] {
  const probe = spawnSync("setpriv", [
    "--reuid",
    "1337",
    "--regid",
    "1337",
    "--clear-groups",
    "test",
    "-r",
    `${HERE}capture-netns/pod-proxy.ts`,
    "-a",
    "-r",
    `${ROOT}node_modules/tsx/package.json`,
  ]);
  return probe.status === 0
    ? ["setpriv", "--reuid", "1337", "--regid", "1337", "--clear-groups"]
    : ["setpriv", "--regid", "1337", "--clear-groups"];
}

const created: string[] = [];

/** Two namespaces joined by a veth pair: the pod (10.253.0.2) and the outside (10.253.0.3). */
async function namespaces(pod: string, out: string, veth: string): Promise<void> {
  assert.equal(process.getuid?.(), 0, "this test creates network namespaces: run it as root");
  for (const ns of [pod, out]) {
    await sh("ip", "netns", "add", ns);
    created.push(ns);
  }
  const [a, b] = [`vtcap${tag}${veth}0`, `vtcap${tag}${veth}1`];
  await sh("ip", "link", "add", a, "netns", pod, "type", "veth", "peer", "name", b, "netns", out);
  for (const [ns, dev, ip] of [
    [pod, a, POD_IP],
    [out, b, OUT_IP],
  ] as const) {
    await sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
    await sh("ip", "-n", ns, "link", "set", "lo", "up");
    await sh("ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", dev);
    await sh("ip", "-n", ns, "link", "set", dev, "up");
  }
}

/** Processes first (by the pids we started), then our namespaces (which takes the veths along). */
async function cleanUp(this: Mocha.Context): Promise<void> {
  this.timeout(30_000);
  for (const c of procs.splice(0)) c.kill("SIGKILL");
  for (const ns of created.splice(0)) await exec("ip", ["netns", "del", ns]).catch(() => undefined);
}

describe("transparent capture in network namespaces (root)", function () {
  this.timeout(60_000);
  let proxy: Proc;

  before(async function () {
    this.timeout(90_000);
    await namespaces(POD, OUT, "a");
    const capture = await inNs(POD, ["node", "--import", "tsx", "mesh/main.ts", "capture"]);
    assert.equal(capture.code, 0, capture.out);
    assert.match(capture.out, /REDIRECT --to-ports 15001/);
    const outside = start(OUT, tsx("capture-netns/servers.ts", "outside"));
    const app = start(POD, tsx("capture-netns/servers.ts", "app"));
    const config: PodProxyConfig = {
      podIP: POD_IP,
      appPort: 8080,
      services: [
        {
          host: "reviews.shop.svc.cluster.local",
          port: 9898,
          endpoint: { address: OUT_IP, port: 9898 },
          http2: false,
        },
        {
          host: "greeter.shop.svc.cluster.local",
          port: 50051,
          endpoint: { address: OUT_IP, port: 50051 },
          http2: true,
        },
      ],
    };
    proxy = start(POD, [
      ...proxyUser(),
      ...tsx("capture-netns/pod-proxy.ts", JSON.stringify(config)),
    ]);
    await Promise.all([
      outside.waitFor((l) => l === "ready", 60_000),
      app.waitFor((l) => l === "ready", 60_000),
      proxy.waitFor((l) => l.startsWith('{"ready"'), 60_000),
    ]);
  });

  after(cleanUp);

  it("runs the proxy as gid 1337 (uid 1337 when the checkout is world-readable)", async () => {
    const line = await proxy.waitFor((l) => l.startsWith('{"ready"'));
    const { ready } = JSON.parse(line) as { ready: { uid: number; gid: number } };
    assert.equal(ready.gid, 1337);
    if (proxyUser().includes("--reuid")) assert.equal(ready.uid, 1337);
  });

  it("(a) an unchanged HTTP client dialling a Service address is routed by Host through the proxy", async () => {
    const r = await inNs(POD, [
      "curl",
      "-sS",
      "-H",
      "Host: reviews.shop.svc.cluster.local:9898",
      `http://${SERVICE_IP}:9898/x`,
    ]);
    assert.equal(r.code, 0, r.out);
    // (f) the proxy's own upstream connection left the pod instead of looping into 15001.
    assert.equal(r.out, `reviews 1.1 ${POD_IP}`);
    await proxy.waitFor(
      (l) =>
        l.includes('"direction":"outbound"') &&
        l.includes("reviews.shop") &&
        l.includes('"status":200'),
    );
  });

  it("(b) an h2c client (gRPC's transport) likewise, by :authority", async () => {
    const r = await inNs(POD, [
      "curl",
      "-sS",
      "--http2-prior-knowledge",
      "-H",
      "Host: greeter.shop.svc.cluster.local:50051",
      `http://${SERVICE_IP}:50051/`,
    ]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, `greeter 2.0 ${POD_IP}`);
  });

  it("(c) plain TCP to a server outside the mesh passes through byte for byte, half-close included", async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x16, 3, 1, 0x0d, 0x0a, 0x0d, 0x0a, 0x80]).toString(
      "hex",
    );
    const r = await inNs(POD, tsx("capture-netns/tcp-client.ts", "echo", OUT_IP, "7000", bytes));
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), bytes);
    await proxy.waitFor((l) =>
      l.includes('"passthrough":{"direction":"outbound","reason":"not_http"}'),
    );
  });

  it("(c) a server-first protocol is passed through after the detection timeout, not hung", async () => {
    const r = await inNs(POD, tsx("capture-netns/tcp-client.ts", "greet", OUT_IP, "7001"));
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), "220 greeter ready");
    await proxy.waitFor((l) => l.includes('"reason":"no_bytes"'));
  });

  it("HTTP to a host the mesh does not know goes to the original destination", async () => {
    const r = await inNs(POD, ["curl", "-sS", "-H", "Host: example.org", `http://${OUT_IP}:9898/`]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, `reviews 1.1 ${POD_IP}`);
    await proxy.waitFor((l) => l.includes('"reason":"unknown_host"'));
  });

  it("(d) inbound to the app port goes through the proxy; STRICT refuses plaintext; undeclared ports are refused", async () => {
    const r = await inNs(OUT, ["curl", "-sS", `http://${POD_IP}:8080/in`]);
    assert.equal(r.code, 0, r.out);
    // The app sees the proxy (127.0.0.1), not the client: the connection went through it.
    assert.equal(r.out, "app 1.1 127.0.0.1");
    await proxy.waitFor((l) => l.includes('"direction":"inbound"') && l.includes('"status":200'));
    const undeclared = await inNs(OUT, ["curl", "-sS", "-m", "5", `http://${POD_IP}:8081/`]);
    assert.notEqual(undeclared.code, 0, `undeclared port answered: ${undeclared.out}`);
    proxy.child.stdin?.write("mode STRICT\n");
    await proxy.waitFor((l) => l === '{"mode":"STRICT"}');
    const strict = await inNs(OUT, ["curl", "-sS", "-m", "5", `http://${POD_IP}:8080/in`]);
    assert.notEqual(strict.code, 0, `STRICT answered plaintext: ${strict.out}`);
  });

  it("(e) admin is not reachable from outside the pod; the status port is", async () => {
    const admin = await inNs(OUT, ["curl", "-sS", "-m", "5", `http://${POD_IP}:15000/config_dump`]);
    assert.notEqual(admin.code, 0, `config_dump answered: ${admin.out}`);
    const ready = await inNs(OUT, ["curl", "-sS", "-m", "5", `http://${POD_IP}:15020/ready`]);
    assert.equal(ready.code, 0, ready.out);
    assert.equal(ready.out, "LIVE\n");
    const inside = await inNs(POD, [
      "curl",
      "-sS",
      "-m",
      "5",
      "http://127.0.0.1:15000/config_dump",
    ]);
    assert.equal(inside.code, 0, inside.out);
  });
});

describe("the proxy program with --capture redirect, fed by the real xDS server (root)", function () {
  this.timeout(60_000);
  const pod = `vtcap-pod2-${tag}`;
  const out = `vtcap-out2-${tag}`;
  let proxy: Proc;

  before(async function () {
    this.timeout(90_000);
    await namespaces(pod, out, "b");
    const capture = await inNs(pod, ["node", "--import", "tsx", "mesh/main.ts", "capture"]);
    assert.equal(capture.code, 0, capture.out);
    const outside = start(out, tsx("capture-netns/servers.ts", "outside"));
    const xds = start(out, tsx("capture-netns/control-plane.ts", OUT_IP, "9898"));
    const app = start(pod, tsx("capture-netns/servers.ts", "app"));
    await Promise.all([
      outside.waitFor((l) => l === "ready", 60_000),
      xds.waitFor((l) => l === "ready", 60_000),
      app.waitFor((l) => l === "ready", 60_000),
    ]);
    const probes = JSON.stringify({
      "/app-health/app/readyz": { httpGet: { path: "/", port: 8080 } },
      "/app-health/app/livez": { tcpSocket: { port: 8099 } },
    });
    proxy = start(pod, [
      ...proxyUser(),
      "env",
      "POD_NAMESPACE=demo",
      "node",
      "--import",
      "tsx",
      "mesh/main.ts",
      "--capture",
      "redirect",
      "--xds",
      `${OUT_IP}:15010`,
      "--pod-ip",
      POD_IP,
      "--inbound-ports",
      "8080",
      "--app-probes",
      probes,
    ]);
    await proxy.waitFor((l) => l.includes("proxy ready"), 60_000);
  });

  after(cleanUp);

  it("routes an unchanged client's http://podinfo.demo:9898/ (dialled at any address) by Host", async () => {
    const r = await inNs(pod, [
      "curl",
      "-sS",
      "-H",
      "Host: podinfo.demo:9898",
      `http://${SERVICE_IP}:9898/`,
    ]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, `reviews 1.1 ${POD_IP}`);
  });

  it("serves readiness and the app's probes on the status port, admin only inside the pod", async () => {
    const get = (ns: string, url: string) =>
      inNs(ns, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url]);
    assert.equal((await get(out, `http://${POD_IP}:15020/ready`)).out, "200");
    assert.equal((await get(out, `http://${POD_IP}:15020/app-health/app/readyz`)).out, "200");
    assert.equal((await get(out, `http://${POD_IP}:15020/app-health/app/livez`)).out, "503");
    assert.notEqual((await get(out, `http://${POD_IP}:15000/config_dump`)).code, 0);
    assert.equal((await get(pod, "http://127.0.0.1:15000/config_dump")).out, "200");
  });

  it("without mesh security, inbound serves the listed port through the proxy and passes others through", async () => {
    const listed = await inNs(out, ["curl", "-sS", `http://${POD_IP}:8080/`]);
    assert.equal(listed.out, "app 1.1 127.0.0.1");
    const other = await inNs(out, ["curl", "-sS", `http://${POD_IP}:8081/`]);
    assert.equal(other.out, "undeclared 1.1 127.0.0.1");
    const stats = await inNs(out, ["curl", "-sS", `http://${POD_IP}:15020/stats/prometheus`]);
    assert.match(
      stats.out,
      /vireo_tcp_passthrough_connections_total\{direction="inbound",reason="unlisted_port"\} 1/,
    );
  });
});
