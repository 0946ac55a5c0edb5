// The grpc-js-xds conformance client (@grpc/grpc-js-xds register() + an xds:/// channel). It
// follows the command-line contract shared by the three conformance clients
// (test/conformance/README.md):
//
//   GRPC_XDS_BOOTSTRAP=<file> node --import tsx client.ts --target xds:///<name> --rpcs N
//       [--metadata key=value]... [--qps Q | --sequential] [--rpc-timeout-ms T]
//       [--seconds S | --until-stdin-closes]
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { echoService } from "../../echo.js";
import type { Counts } from "../../run-client.js";

function fail(message: string): never {
  process.stderr.write(`grpc-js client: ${message}\n`);
  process.exit(2);
}

function number(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} wants a non-negative number, got ${text}`);
  return n;
}

// Parsing errors exit 2 like the Go and Python clients' flag parsers.
function parse() {
  try {
    return parseArgs({
      options: {
        target: { type: "string" },
        rpcs: { type: "string" },
        metadata: { type: "string", multiple: true, default: [] },
        qps: { type: "string" },
        sequential: { type: "boolean" },
        "rpc-timeout-ms": { type: "string" },
        seconds: { type: "string" },
        "until-stdin-closes": { type: "boolean" },
      },
      strict: true,
    });
  } catch (e) {
    return fail((e as Error).message);
  }
}

const { values } = parse();

const target = values.target;
const rpcs = values.rpcs === undefined ? undefined : number("rpcs", values.rpcs, 0);
const qps = number("qps", values.qps, 0);
const timeoutMs = number("rpc-timeout-ms", values["rpc-timeout-ms"], 5000);
const seconds = number("seconds", values.seconds, 0);
const untilStdin = values["until-stdin-closes"] === true;
const streaming = seconds > 0 || untilStdin;
if (target === undefined || (rpcs === undefined && !streaming)) {
  fail(
    "usage: --target xds:///name --rpcs N [--metadata k=v] [--qps Q] [--rpc-timeout-ms T] [--seconds S | --until-stdin-closes]",
  );
}
const metadata = new grpc.Metadata();
for (const kv of values.metadata) {
  const i = kv.indexOf("=");
  if (i <= 0) fail(`--metadata wants key=value, got ${JSON.stringify(kv)}`);
  metadata.add(kv.slice(0, i).toLowerCase(), kv.slice(i + 1));
}

const emptyCounts = (): Counts => ({ byBackend: {}, byStatus: {}, failures: 0 });
const total = emptyCounts();
let window = emptyCounts();
const seen = new Set<string>();

function record(backend: string, code: number, details: string): void {
  for (const c of [total, window]) {
    c.byStatus[code] = (c.byStatus[code] ?? 0) + 1;
    if (code === 0) c.byBackend[backend] = (c.byBackend[backend] ?? 0) + 1;
    else c.failures++;
  }
  if (code !== 0) {
    const msg = `code=${code} ${details}`;
    if (!seen.has(msg) && seen.size < 20) {
      seen.add(msg);
      process.stderr.write(`grpc-js client: rpc failed: ${msg}\n`);
    }
  }
}

register();
const hello = echoService().Hello;
const client = new grpc.Client(target, grpc.credentials.createInsecure());

function call(): Promise<void> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      hello.path,
      hello.requestSerialize,
      hello.responseDeserialize,
      { name: "grpc-js" },
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, reply) => {
        if (err) record("", err.code, err.details);
        else record(reply?.backend ?? "", 0, "");
        resolve();
      },
    );
  });
}

let stopped = false;
const isStopped = (): boolean => stopped;
let wake: (() => void) | undefined;
function stop(): void {
  stopped = true;
  wake?.();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (untilStdin) {
  process.stdin.on("end", stop).on("close", stop).on("error", stop).resume();
}
const start = Date.now();
const timers: NodeJS.Timeout[] = [];
if (seconds > 0) timers.push(setTimeout(stop, seconds * 1000));
if (streaming) {
  let second = 0;
  timers.push(
    setInterval(() => {
      second++;
      process.stdout.write(`${JSON.stringify({ second, ...window })}\n`);
      window = emptyCounts();
    }, 1000),
  );
}

function sleepUntil(due: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.max(0, due - Date.now()));
    function done(): void {
      clearTimeout(t);
      wake = undefined;
      resolve();
    }
    wake = done;
  });
}

const inflight = new Set<Promise<void>>();
for (let i = 0; (rpcs === undefined || i < rpcs) && !isStopped(); i++) {
  if (qps > 0) {
    const due = start + (i * 1000) / qps;
    if (due > Date.now()) await sleepUntil(due);
    if (isStopped()) break;
    const p = call().then(() => {
      inflight.delete(p);
    });
    inflight.add(p);
  } else {
    await call();
  }
}
await Promise.all(inflight);
for (const t of timers) clearTimeout(t);
const line = streaming ? { total: true, seconds: (Date.now() - start) / 1000, ...total } : total;
client.close();
process.stdout.write(`${JSON.stringify(line)}\n`, () => process.exit(0));
