// The demo's load generator: a steady request rate (open loop: a slow answer does not slow the
// sending) through the pod's vireo proxy, the way an application with HTTP_PROXY set calls a
// Service, and a summary line per second: status classes, failures, latency and the versions that
// answered. Image "vireo/loadgen" on the local cluster.
//
//   node --import tsx examples/loadgen/loadgen.ts --rps 20 --url http://podinfo.demo:9898/
//   HTTP_PROXY=http://127.0.0.1:15001 node --import tsx examples/loadgen/loadgen.ts --json
//
// Without a proxy (no --proxy, no HTTP_PROXY) it calls the URL directly.
import http from "node:http";
import net from "node:net";
import { parseArgs } from "node:util";
import type { Window } from "./window.js";
import { runOpenLoop, Windows } from "./window.js";

const env = process.env;
const { values } = parseArgs({
  options: {
    url: { type: "string", multiple: true },
    rps: { type: "string", default: env.LOADGEN_RPS ?? "20" },
    proxy: { type: "string", default: env.HTTP_PROXY ?? env.http_proxy ?? "" },
    header: { type: "string", multiple: true },
    "timeout-ms": { type: "string", default: "10000" },
    "duration-s": { type: "string", default: "0" },
    json: { type: "boolean", default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(2);
}

function positive(name: string, value: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
    fail(`--${name}: "${value}" is not a positive number`);
  return n;
}

const urls = (values.url ?? [env.LOADGEN_URL ?? "http://podinfo.demo:9898/"]).map((u) => {
  try {
    const parsed = new URL(u);
    if (parsed.protocol !== "http:") fail(`--url ${u}: only http:// URLs`);
    return parsed;
  } catch {
    return fail(`--url ${u}: not a URL`);
  }
});
const rps = positive("rps", values.rps);
const timeoutMs = positive("timeout-ms", values["timeout-ms"]);
const durationS = positive("duration-s", values["duration-s"], true);
const headers: Record<string, string> = {};
for (const h of values.header ?? []) {
  const i = h.indexOf(":");
  if (i <= 0) fail(`--header ${h}: expected "name: value"`);
  headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
}
let proxy: URL | undefined;
if (values.proxy !== "") {
  try {
    proxy = new URL(values.proxy);
  } catch {
    fail(`--proxy ${values.proxy}: not a URL`);
  }
}

const windows = new Windows();
const record = (f: (w: Window) => void): void => {
  windows.record(f);
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function send(target: URL): void {
  const started = performance.now();
  record((w) => {
    w.sent += 1;
  });
  // Through a proxy: absolute-form request line to the proxy, Host naming the Service.
  const options: http.RequestOptions = proxy
    ? {
        host: proxy.hostname,
        port: proxy.port === "" ? 80 : Number(proxy.port),
        path: target.href,
        headers: { ...headers, host: target.host },
      }
    : {
        host: target.hostname,
        port: target.port === "" ? 80 : Number(target.port),
        path: `${target.pathname}${target.search}`,
        headers,
      };
  const req = http.request({ ...options, agent, timeout: timeoutMs }, (res) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      const ms = performance.now() - started;
      const code = res.statusCode ?? 0;
      const body = Buffer.concat(chunks).toString("utf8");
      const version = /^version: (\S+)/m.exec(body)?.[1];
      record((w) => {
        if (code >= 500) w.server += 1;
        else if (code >= 400) w.client += 1;
        else w.ok += 1;
        w.latencies.push(ms);
        if (version !== undefined) w.versions.set(version, (w.versions.get(version) ?? 0) + 1);
      });
    });
    res.on("error", () => {
      record((w) => {
        w.errors += 1;
      });
    });
  });
  req.on("timeout", () => {
    req.destroy(new Error("timeout"));
  });
  req.on("error", () => {
    record((w) => {
      w.errors += 1;
    });
  });
  req.end();
}

/** Waits until the proxy accepts connections: the sidecar may start after this container. */
async function proxyReady(p: URL): Promise<void> {
  const port = p.port === "" ? 80 : Number(p.port);
  for (let waited = 0; ; waited += 250) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, p.hostname);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (waited % 5000 === 0) process.stderr.write(`loadgen: waiting for the proxy at ${p.host}\n`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  if (proxy !== undefined) await proxyReady(proxy);
  process.stderr.write(
    `loadgen: ${rps} req/s to ${urls.map((u) => u.href).join(", ")}` +
      `${proxy ? ` through ${proxy.host}` : ""}\n`,
  );
  runOpenLoop(windows, {
    rps,
    durationS,
    timeoutMs,
    json: values.json,
    send: (n) => {
      send(urls[n % urls.length] as URL);
    },
  });
}

void main();
