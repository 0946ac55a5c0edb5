// vireo's proxy, as its own process (mesh/main.ts), programmed by vireo's control plane: a live
// 90/10 split within ±3 % over 5,000 requests, then a move to 50/50 under load with no failures.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import type { ClusterState } from "../../src/xds/model.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { XdsServer } from "../../src/xds/server/xds-server.js";
import { buildSnapshot } from "../../src/xds/snapshot.js";
import { translate } from "../../src/xds/translate/translate.js";
import { repoRoot } from "../integration/harness.js";

const log = createLogger({ component: "live", stream: new PassThrough(), level: "error" });
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

async function backend(id: string): Promise<{ port: number; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" }).end(id);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** One request through the proxy's outbound port, as an app with HTTP_PROXY would send it. */
function viaProxy(proxyPort: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: proxyPort,
        path: "http://web.live:80/",
        headers: { host: "web.live:80" },
        agent,
        timeout: 5000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", (e) => {
      resolve({ status: 0, body: e.message });
    });
    req.end();
  });
}

function state(ports: { primary: number; canary: number }, canaryWeight: number): ClusterState {
  const svc = (name: string) => ({
    namespace: "live",
    name,
    ports: [{ name: "http", port: 80, protocol: "http" as const }],
  });
  const ep = (port: number) => ({ address: "127.0.0.1", ports: { http: port }, ready: true });
  return {
    services: [svc("web"), svc("web-primary"), svc("web-canary")],
    endpoints: [
      { namespace: "live", service: "web", endpoints: [ep(ports.primary)] },
      { namespace: "live", service: "web-primary", endpoints: [ep(ports.primary)] },
      { namespace: "live", service: "web-canary", endpoints: [ep(ports.canary)] },
    ],
    routing: [
      {
        namespace: "live",
        service: "web",
        primary: "web-primary",
        canary: "web-canary",
        canaryWeight,
      },
    ],
  };
}

describe("the proxy programmed by the control plane, live", function () {
  this.timeout(120_000);
  let server: XdsServer;
  let proxy: ChildProcess;
  let proxyPort: number;
  let version = 1;
  const backends: { port: number; close: () => void }[] = [];
  let ports: { primary: number; canary: number };

  const publish = (weight: number): number => {
    const s = buildSnapshot(version++, translate(state(ports, weight)), loadXdsProtos().codecs);
    server.setSnapshot(s);
    return s.version;
  };

  before(async () => {
    const [p, c] = [await backend("primary"), await backend("canary")];
    backends.push(p, c);
    ports = { primary: p.port, canary: c.port };
    server = new XdsServer({ log, clock: systemClock });
    const xdsPort = await server.listen(0);
    publish(10);
    proxyPort = await freePort();
    const adminPort = await freePort();
    proxy = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(repoRoot, "mesh/main.ts"),
        "--xds",
        `127.0.0.1:${xdsPort}`,
        "--outbound-port",
        String(proxyPort),
        "--admin-port",
        String(adminPort),
        "--log-level",
        "warn",
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, POD_NAMESPACE: "live", POD_NAME: "client-abc12-xyz89" },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    for (let i = 0; ; i++) {
      const ready = await new Promise<number>((resolve) => {
        http
          .get({ host: "127.0.0.1", port: adminPort, path: "/ready" }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", () => {
            resolve(0);
          });
      });
      if (ready === 200) break;
      if (i > 150) throw new Error("the proxy did not become ready in 30 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    proxy.kill("SIGTERM");
    await new Promise((r) => proxy.once("exit", r));
    await server.close();
    for (const b of backends) b.close();
    agent.destroy();
  });

  it("splits 5,000 requests 90/10 within ±3 %", async () => {
    const counts = new Map<string, number>();
    for (let batch = 0; batch < 100; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => viaProxy(proxyPort)));
      for (const r of results)
        counts.set(
          r.status === 200 ? r.body : `error ${r.status} ${r.body}`,
          (counts.get(r.status === 200 ? r.body : `error ${r.status} ${r.body}`) ?? 0) + 1,
        );
    }
    const canary = counts.get("canary") ?? 0;
    const primary = counts.get("primary") ?? 0;
    assert.equal(canary + primary, 5000, JSON.stringify([...counts]));
    const share = (100 * canary) / 5000;
    process.stdout.write(`      canary ${canary}/5000 = ${share.toFixed(2)} %\n`);
    assert.ok(Math.abs(share - 10) <= 3, `canary share ${share.toFixed(2)} %`);
  });

  it("moves to 50/50 under load with zero failed requests", async () => {
    let stop = false;
    const statuses = new Map<number, number>();
    const afterSwitch = new Map<string, number>();
    let switched = false;
    const load = async (): Promise<void> => {
      while (!stop) {
        const r = await viaProxy(proxyPort);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (switched && r.status === 200)
          afterSwitch.set(r.body, (afterSwitch.get(r.body) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 8 }, () => load());
    await new Promise((r) => setTimeout(r, 1000));
    const v = publish(50);
    // Wait until the proxy has ACKed the new routes, then measure the new split for a while.
    for (;;) {
      const acked = server
        .clients()
        .every((c) =>
          c.types.every(
            (t) =>
              (t.ackedVersion ?? 0) >= v ||
              t.typeUrl.endsWith("ClusterLoadAssignment") ||
              t.typeUrl.endsWith("Cluster"),
          ),
        );
      if (acked) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    switched = true;
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(workers);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual(
      [...statuses.keys()],
      [200],
      `statuses over ${total} requests: ${JSON.stringify([...statuses])}`,
    );
    const c = afterSwitch.get("canary") ?? 0;
    const p = afterSwitch.get("primary") ?? 0;
    const share = (100 * c) / (c + p);
    process.stdout.write(
      `      ${total} requests, all 200; after the switch canary ${share.toFixed(1)} % of ${c + p}\n`,
    );
    assert.ok(
      Math.abs(share - 50) <= 5,
      `after the switch: canary ${share.toFixed(1)} % of ${c + p}`,
    );
  });
});
