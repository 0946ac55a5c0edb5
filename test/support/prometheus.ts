// A real Prometheus for a test file: Debian's binary on a free loopback port, with a temporary TSDB,
// scraping the given targets every second. Stopped (and its directory removed) by `stop()`.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const PROMETHEUS_BIN = process.env.VIREO_PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export interface PrometheusOptions {
  /** `host:port` of each exporter to scrape (path /metrics). */
  readonly targets?: readonly string[];
  readonly scrapeIntervalSeconds?: number;
}

export interface PrometheusServer {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  /** The sample value of an instant query, or undefined when it returns no (or a non-number) value. */
  value(query: string): Promise<number | undefined>;
  /** Polls `query` until its value satisfies `ok`; fails with the last value after `timeoutMs`. */
  waitFor(query: string, ok: (v: number) => boolean, timeoutMs?: number): Promise<number>;
  /** The last lines of its log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** A port free at the moment of asking; Prometheus binds it a moment later (retried if taken). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), "vireo-prometheus-"));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const targets = JSON.stringify(options.targets ?? []);
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: test",
    `    scrape_timeout: ${interval}`,
    `    static_configs: [{targets: ${targets}}]`,
  ].join("\n");
  await writeFile(join(dir, "prometheus.yml"), `${config}\n`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(dir, await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(dir: string, port: number): Promise<PrometheusServer> {
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const lines: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    lines.push(...chunk.split("\n").filter((l) => l !== ""));
    lines.splice(0, Math.max(0, lines.length - 40));
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", resolve);
    child.once("error", (err) => {
      lines.push(`${PROMETHEUS_BIN}: ${err.message}`);
      resolve(null);
    });
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const log = () => lines.join("\n");
  const stop = async (): Promise<void> => {
    await terminate(child, exited, killOnExit);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready(url, exited, log);
  } catch (err) {
    await terminate(child, exited, killOnExit);
    throw err;
  }
  const value = (query: string) => instantValue(url, query);
  return {
    url,
    port,
    value,
    async waitFor(query, ok, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: number | undefined;
      for (;;) {
        last = await value(query);
        if (last !== undefined && ok(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(
            `waited ${timeoutMs} ms for ${query}; last value ${String(last)}\n${log()}`,
          );
        }
        await sleep(200);
      }
    },
    log,
    stop,
  };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function terminate(
  child: ChildProcess,
  exited: Promise<number | null>,
  killOnExit: () => void,
): Promise<void> {
  process.removeListener("exit", killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

async function ready(
  url: string,
  exited: Promise<number | null>,
  log: () => string,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`prometheus exited with ${String(exitCode)}:\n${log()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`prometheus at ${url} not ready after 20 s:\n${log()}`);
}

async function instantValue(url: string, query: string): Promise<number | undefined> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: "POST",
    body: new URLSearchParams({ query }),
  });
  const body = (await res.json()) as {
    data?: { resultType?: string; result?: { value?: [number, string] }[] | [number, string] };
  };
  const { resultType, result } = body.data ?? {};
  const sample =
    resultType === "scalar"
      ? (result as [number, string] | undefined)
      : (result as { value?: [number, string] }[] | undefined)?.[0]?.value;
  const v = Number(sample?.[1]);
  return Number.isFinite(v) ? v : undefined;
}
