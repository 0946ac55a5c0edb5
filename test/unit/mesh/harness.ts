// Real servers on loopback for the proxy's tests: upstreams that count their connections, a proxy
// whose snapshot a test can swap, and a small HTTP/1.1 client.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { RequestRecord } from "../../../mesh/filters/request-record.js";
import type { Proxy, ProxyOptions } from "../../../mesh/proxy.js";
import { createProxy } from "../../../mesh/proxy.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";

export const silentLog = createLogger({
  component: "mesh-test",
  stream: new PassThrough(),
  level: "error",
});

export interface Upstream {
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startUpstream(handler: http.RequestListener): Promise<Upstream> {
  let connections = 0;
  const server = http.createServer(handler);
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** An upstream that answers 200 with its name and echoes what it saw in headers. */
export function namedUpstream(name: string): Promise<Upstream> {
  return startUpstream((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("x-upstream", name);
      res.setHeader("x-seen-host", req.headers.host ?? "");
      res.end(name);
    });
  });
}

export interface TestProxy {
  readonly proxy: Proxy;
  readonly port: number;
  readonly records: RequestRecord[];
  set(snapshot: RoutingSnapshot): void;
  /** Resolves once `n` records have arrived. */
  recorded(n: number): Promise<RequestRecord[]>;
}

export async function startProxy(
  snapshot: RoutingSnapshot,
  options: Partial<ProxyOptions> = {},
): Promise<TestProxy> {
  let current = snapshot;
  const records: RequestRecord[] = [];
  const proxy = createProxy({
    role: "sidecar",
    namespace: "demo",
    snapshot: () => current,
    clock: systemClock,
    log: silentLog,
    onRequestDone: (r) => records.push(r),
    ...options,
  });
  const port = options.role === "gateway" ? 0 : (await proxy.listenOutbound(0, "127.0.0.1")).port;
  return {
    proxy,
    port,
    records,
    set: (s) => {
      current = s;
    },
    recorded: async (n) => {
      for (let i = 0; i < 500 && records.length < n; i++) await sleep(5);
      return records;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface SendOptions {
  readonly host?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  readonly agent?: http.Agent;
}

export function send(port: number, o: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: o.method ?? "GET",
        path: o.path ?? "/",
        headers: { host: o.host ?? "svc.demo.svc.cluster.local", ...o.headers },
        agent: o.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Writes raw bytes on a new connection and collects what comes back until it closes. */
export function raw(port: number, bytes: string, waitMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(bytes);
    });
    const timer = setTimeout(() => {
      s.destroy();
    }, waitMs);
    s.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    s.on("error", reject);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * A port whose connects hang: a listener that never accepts, its one-slot queue already full
 * (node always accepts, so a child of Debian's python3, which make install provides, holds it).
 */
export async function blackholePort(): Promise<{ port: number; close: () => void }> {
  const { spawn } = await import("node:child_process");
  const script =
    "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\n" +
    "print(s.getsockname()[1],flush=True)\ntime.sleep(60)";
  const child = spawn("/usr/bin/python3", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", (err) => {
      reject(new Error(`this test needs /usr/bin/python3 to hold a listener: ${err.message}`));
    });
    child.stdout.once("data", (d: Buffer) => {
      resolve(Number(d.toString().trim()));
    });
  });
  const filler = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => filler.once("connect", resolve));
  return {
    port,
    close: () => {
      filler.destroy();
      child.kill();
    },
  };
}
