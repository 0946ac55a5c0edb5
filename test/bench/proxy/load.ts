// The load tool: Debian's wrk, one thread pinned next to the upstream, with templates/wrk.lua for
// a constant rate and a machine-readable summary.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Placement } from "./targets.js";
import { placed } from "./targets.js";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "templates", "wrk.lua");
const MARK = "VIREO_BENCH ";

/** What templates/wrk.lua's done() prints. Latencies in microseconds. */
export interface WrkSummary {
  readonly requests: number;
  readonly durationUs: number;
  readonly bytes: number;
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly status: number;
    readonly timeout: number;
  };
  readonly latencyUs: {
    readonly min: number;
    readonly mean: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
}

export interface LoadOptions {
  readonly url: string;
  readonly host: string;
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second for the whole run; undefined for as fast as possible. */
  readonly rate?: number;
  readonly where: Placement;
}

export function errorCount(s: WrkSummary): number {
  const e = s.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

/** Runs wrk once and returns its summary; throws if wrk fails or prints none. */
export async function runWrk(o: LoadOptions): Promise<WrkSummary> {
  const wrk = [
    "wrk",
    "--threads",
    "1",
    "--connections",
    String(o.connections),
    "--duration",
    `${o.seconds}s`,
    "--timeout",
    "2s",
    "--header",
    `Host: ${o.host}`,
    "--script",
    SCRIPT,
    o.url,
  ];
  const [cmd, args] = placed(o.where, wrk);
  const child = spawn(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, VIREO_BENCH_RATE: String(o.rate ?? 0) },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  // "close", not "exit": only then has all of its output been read.
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const line = out.split("\n").find((l) => l.startsWith(MARK));
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk exited with ${String(code)}: ${(err || out).trim().slice(0, 500)}`);
  }
  return JSON.parse(line.slice(MARK.length)) as WrkSummary;
}
