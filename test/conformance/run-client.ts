// Runs the three real xDS clients (grpc-js-xds, gRPC C-core via Debian python3-grpcio, grpc-go)
// through their shared command-line contract (README.md) and parses their JSON lines.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export type ClientKind = "grpc-js" | "c-core" | "grpc-go";
export const CLIENT_KINDS: readonly ClientKind[] = ["grpc-js", "c-core", "grpc-go"];

/** What every client prints: successful RPCs per backend id, RPCs per gRPC status code. */
export interface Counts {
  byBackend: Record<string, number>;
  /** Keyed by the status code's number as a string ("0" = OK, "14" = UNAVAILABLE, ...). */
  byStatus: Record<string, number>;
  /** RPCs whose status was not OK. */
  failures: number;
}

/** A streaming client's line for one second (RPCs that completed during that second). */
export interface IntervalLine extends Counts {
  second: number;
}

/** A streaming client's last line: everything since it started. */
export interface TotalLine extends Counts {
  total: true;
  seconds: number;
}

export interface ClientOptions {
  /** Path of the bootstrap JSON (bootstrap.ts `writeBootstrap`). */
  bootstrap: string;
  /** `xds:///<listener name>` */
  target: string;
  /** Request metadata sent with every RPC (keys are lower-cased). */
  metadata?: Record<string, string>;
  /** Open-loop rate; absent or 0 = sequential, one RPC at a time. */
  qps?: number;
  /** Each RPC's deadline; default 5000. */
  rpcTimeoutMs?: number;
  /** Extra environment, e.g. GRPC_TRACE for C-core or GRPC_GO_LOG_SEVERITY_LEVEL. */
  env?: Record<string, string>;
  /** Kill the client after this long; default 120000 (runClient) / none (streaming). */
  killAfterMs?: number;
}

export interface RunOptions extends ClientOptions {
  rpcs: number;
}

export interface Result extends Counts {
  /** Wall time of the whole client process, xDS bootstrap included. */
  elapsedMs: number;
  /** The client's standard error (first failure of each kind, library logs). */
  stderr: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const CLIENTS = join(HERE, "clients");
const GO_SRC = join(CLIENTS, "go");
/** Debian's interpreter: python3-grpcio is installed for it, not for a pyenv python on PATH. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

export function conformanceCacheDir(): string {
  return (
    process.env.VIREO_CONFORMANCE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "vireo-conformance")
  );
}

/** Where build-go.sh puts the grpc-go client for the current go.mod, go.sum and main.go. */
export function goClientPath(): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum", "main.go"]) h.update(readFileSync(join(GO_SRC, f)));
  return join(conformanceCacheDir(), `grpc-go-client-${h.digest("hex").slice(0, 16)}`);
}

/**
 * Makes sure a client can run: builds the grpc-go client if needed (about 40 s cold, 1 s with a
 * warm Go build cache), checks python3-grpcio for C-core. Call it from a `before` hook with a
 * long timeout.
 */
export async function ensureClient(kind: ClientKind): Promise<void> {
  switch (kind) {
    case "grpc-js":
      return;
    case "c-core": {
      const r = await collect(spawn(DEBIAN_PYTHON, ["-E", "-s", "-c", "import grpc"]));
      if (r.code !== 0)
        throw new Error(
          `${DEBIAN_PYTHON} cannot import grpc (apt-get install python3-grpcio): ${r.stderr}`,
        );
      return;
    }
    case "grpc-go": {
      if (existsSync(goClientPath())) return;
      const r = await collect(spawn(join(CLIENTS, "build-go.sh"), [], { stdio: "pipe" }));
      if (r.code !== 0 || !existsSync(goClientPath()))
        throw new Error(`build-go.sh failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
      return;
    }
  }
}

/** The program and arguments that start a client (without the contract's flags). */
export function clientCommand(kind: ClientKind): { command: string; args: string[] } {
  switch (kind) {
    case "grpc-js":
      return {
        command: process.execPath,
        args: ["--import", "tsx", join(CLIENTS, "grpc-js", "client.ts")],
      };
    case "c-core":
      return { command: DEBIAN_PYTHON, args: ["-E", "-s", join(CLIENTS, "c-core", "client.py")] };
    case "grpc-go": {
      const bin = goClientPath();
      if (!existsSync(bin))
        throw new Error(`${bin} is missing: run test/conformance/clients/build-go.sh`);
      return { command: bin, args: [] };
    }
  }
}

/** The contract's flags for these options. */
export function contractArgs(
  o: ClientOptions & { rpcs?: number; seconds?: number; untilStdinCloses?: boolean },
): string[] {
  const args = ["--target", o.target];
  if (o.rpcs !== undefined) args.push("--rpcs", String(o.rpcs));
  for (const [k, v] of Object.entries(o.metadata ?? {})) args.push("--metadata", `${k}=${v}`);
  if (o.qps !== undefined && o.qps > 0) args.push("--qps", String(o.qps));
  if (o.rpcTimeoutMs !== undefined) args.push("--rpc-timeout-ms", String(o.rpcTimeoutMs));
  if (o.seconds !== undefined) args.push("--seconds", String(o.seconds));
  if (o.untilStdinCloses === true) args.push("--until-stdin-closes");
  return args;
}

function spawnClient(kind: ClientKind, o: ClientOptions, args: string[]): ChildProcess {
  const { command, args: base } = clientCommand(kind);
  const env: NodeJS.ProcessEnv = { ...process.env, GRPC_XDS_BOOTSTRAP: o.bootstrap, ...o.env };
  delete env.GRPC_XDS_BOOTSTRAP_CONFIG;
  const child = spawn(command, [...base, ...args], {
    cwd: REPO,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  // A client that exits first makes closing its standard input fail with EPIPE: not an error here.
  child.stdin.on("error", () => undefined);
  return child;
}

function collect(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

function isCounts(v: unknown): v is Counts {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.byBackend === "object" &&
    o.byBackend !== null &&
    typeof o.byStatus === "object" &&
    o.byStatus !== null &&
    typeof o.failures === "number"
  );
}

function parseLine(kind: ClientKind, line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${kind} client printed a line that is not JSON: ${line}`);
  }
}

/** Runs a client for `rpcs` RPCs and returns its counts. Rejects if it exits badly. */
export async function runClient(kind: ClientKind, o: RunOptions): Promise<Result> {
  const t0 = performance.now();
  const child = spawnClient(kind, o, contractArgs(o));
  child.stdin?.end();
  const kill = setTimeout(() => child.kill("SIGKILL"), o.killAfterMs ?? 120_000);
  const r = await collect(child).finally(() => {
    clearTimeout(kill);
  });
  const elapsedMs = performance.now() - t0;
  const last = r.stdout.trim().split("\n").pop() ?? "";
  const parsed = last === "" ? undefined : parseLine(kind, last);
  if (r.code !== 0 || !isCounts(parsed))
    throw new Error(
      `${kind} client exited ${r.code ?? "by signal"} without a result line; stderr:\n${r.stderr.slice(-4000)}`,
    );
  return { ...parsed, elapsedMs, stderr: r.stderr };
}

export interface StreamingClient {
  readonly kind: ClientKind;
  /** Per-second lines received so far. */
  readonly intervals: readonly IntervalLine[];
  /** Standard error so far. */
  stderr(): string;
  /** Resolves with the first per-second line (already received or future) that satisfies `test`. */
  waitFor(test: (line: IntervalLine) => boolean, timeoutMs?: number): Promise<IntervalLine>;
  /** Closes the client's standard input (it stops sending), and resolves with its total line. */
  stop(): Promise<TotalLine>;
}

/**
 * Starts a client in streaming mode: it sends until `stop()` closes its standard input (or until
 * `seconds` have passed, if given), and prints a line per second.
 */
export function startStreamingClient(
  kind: ClientKind,
  o: ClientOptions & { seconds?: number },
): StreamingClient {
  const child = spawnClient(kind, o, contractArgs({ ...o, untilStdinCloses: true }));
  const intervals: IntervalLine[] = [];
  const waiters: {
    test: (l: IntervalLine) => boolean;
    resolve: (l: IntervalLine) => void;
  }[] = [];
  let total: TotalLine | undefined;
  let stderr = "";
  let badLine: Error | undefined;
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  if (child.stdout === null) throw new Error("no stdout pipe");
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = parseLine(kind, line);
    } catch (e) {
      badLine ??= e as Error;
      return;
    }
    if (!isCounts(v)) return;
    if ("total" in v) {
      total = v as TotalLine;
      return;
    }
    const l = v as IntervalLine;
    intervals.push(l);
    for (const w of [...waiters]) {
      if (w.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = collectExit(child);
  const kill =
    o.killAfterMs === undefined
      ? undefined
      : setTimeout(() => child.kill("SIGKILL"), o.killAfterMs);
  return {
    kind,
    intervals,
    stderr: () => stderr,
    waitFor(test, timeoutMs = 30_000) {
      const found = intervals.find(test);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<IntervalLine>((resolve, reject) => {
        const w = {
          test,
          resolve: (l: IntervalLine) => {
            clearTimeout(t);
            resolve(l);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(
              `${kind} client: no matching per-second line within ${timeoutMs} ms; last: ${JSON.stringify(intervals.at(-1))}; stderr:\n${stderr.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.push(w);
        void exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(w), 1);
            reject(
              new Error(`${kind} client exited while waiting; stderr:\n${stderr.slice(-2000)}`),
            );
          }
        });
      });
    },
    async stop() {
      child.stdin?.end();
      const code = await exited;
      if (kill !== undefined) clearTimeout(kill);
      if (badLine !== undefined) throw badLine;
      if (code !== 0 || total === undefined)
        throw new Error(
          `${kind} client exited ${code ?? "by signal"} without a total line; stderr:\n${stderr.slice(-4000)}`,
        );
      return total;
    },
  };
}

function collectExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on("error", () => {
      resolve(null);
    });
    child.on("close", (code) => {
      resolve(code);
    });
  });
}

/** Fraction (0..1) of all RPCs that reached `backend`. */
export function share(c: Counts, backend: string): number {
  const all = Object.values(c.byStatus).reduce((a, b) => a + b, 0);
  return all === 0 ? 0 : (c.byBackend[backend] ?? 0) / all;
}
