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
    stdio: ["pipe", "pipe", "inherit"],
  });
  procs.push(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on("line", (l) => {
    lines.push(l);
    for (const w of waiters) w();
  });
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
    `${HERE}pod-proxy.ts`,
    "-a",
    "-r",
    `${ROOT}node_modules/tsx/package.json`,
  ]);
  return probe.status === 0
    ? ["setpriv", "--reuid", "1337", "--regid", "1337", "--clear-groups"]
    : ["setpriv", "--regid", "1337", "--clear-groups"];
}

describe("transparent capture in network namespaces (root)", function () {
  this.timeout(60_000);
  let proxy: Proc;

  before(async function () {
    this.timeout(90_000);
    assert.equal(process.getuid?.(), 0, "this test creates network namespaces: run it as root");
    await sh("ip", "netns", "add", POD);
    await sh("ip", "netns", "add", OUT);
    await sh(
      "ip",
      "link",
      "add",
      `vtcap${tag}a`,
      "netns",
      POD,
      "type",
      "veth",
      "peer",
      "name",
      `vtcap${tag}b`,
      "netns",
      OUT,
    );
    for (const [ns, dev, ip] of [
      [POD, `vtcap${tag}a`, POD_IP],
      [OUT, `vtcap${tag}b`, OUT_IP],
    ] as const) {
      await sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
      await sh("ip", "-n", ns, "link", "set", "lo", "up");
      await sh("ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", dev);
      await sh("ip", "-n", ns, "link", "set", dev, "up");
    }
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

  after(async function () {
    this.timeout(30_000);
    for (const c of procs) c.kill("SIGKILL");
    for (const ns of [POD, OUT]) await exec("ip", ["netns", "del", ns]).catch(() => undefined);
  });

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
