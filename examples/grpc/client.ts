// The gRPC example's client and load generator: plain grpc-js dialling `greeter.demo:9090` by
// name, no proxy settings, no vireo code (in a meshed pod the capture sends it through the
// proxy). Prints a line per second in the HTTP load generator's format: `sent ok 4xx 5xx errors
// p50 p99` and the versions that answered, and `total` on exit. Image "vireo/grpc-client".
//
//   node --import tsx examples/grpc/client.ts --target greeter.demo:9090 --rps 20
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import type { HelloReply } from "./greeter.js";
import { Greeter } from "./greeter.js";

const env = process.env;
const { values } = parseArgs({
  options: {
    target: { type: "string", default: env.GRPC_TARGET ?? "greeter.demo:9090" },
    rps: { type: "string", default: env.LOADGEN_RPS ?? "20" },
    "timeout-ms": { type: "string", default: "10000" },
    "duration-s": { type: "string", default: "0" },
  },
});

function positive(name: string, value: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    process.stderr.write(`grpc-client: --${name}: "${value}" is not a positive number\n`);
    process.exit(2);
  }
  return n;
}

const rps = positive("rps", values.rps);
const timeoutMs = positive("timeout-ms", values["timeout-ms"]);
const durationS = positive("duration-s", values["duration-s"], true);

interface Window {
  sent: number;
  ok: number;
  client: number;
  server: number;
  errors: number;
  latencies: number[];
  versions: Map<string, number>;
}
const empty = (): Window => ({
  sent: 0,
  ok: 0,
  client: 0,
  server: 0,
  errors: 0,
  latencies: [],
  versions: new Map(),
});
let second = empty();
const total = empty();
const record = (f: (w: Window) => void): void => {
  f(second);
  f(total);
};

/** Codes a client earns by its own request, as 4xx; no answer at all, as errors; the rest 5xx. */
const CLIENT_CODES = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.OUT_OF_RANGE,
]);
const NO_ANSWER = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

const client = new Greeter(values.target, grpc.credentials.createInsecure()) as unknown as {
  SayHello(
    req: { name: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: HelloReply) => void,
  ): void;
};

function send(): void {
  const started = performance.now();
  record((w) => {
    w.sent += 1;
  });
  client.SayHello({ name: "vireo" }, { deadline: Date.now() + timeoutMs }, (err, reply) => {
    const ms = performance.now() - started;
    record((w) => {
      if (err === null) {
        w.ok += 1;
        w.latencies.push(ms);
        const v = reply?.version ?? "?";
        w.versions.set(v, (w.versions.get(v) ?? 0) + 1);
      } else if (NO_ANSWER.has(err.code)) w.errors += 1;
      else if (CLIENT_CODES.has(err.code)) w.client += 1;
      else w.server += 1;
    });
    if (err !== null && total.server + total.errors <= 5)
      process.stderr.write(`grpc-client: ${grpc.status[err.code]}: ${err.details}\n`);
  });
}

function quantile(sorted: readonly number[], q: number): string {
  const v = sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return v === undefined ? "-" : `${v.toFixed(1)} ms`;
}

function line(label: string, w: Window): string {
  const sorted = [...w.latencies].sort((a, b) => a - b);
  const versions = [...w.versions]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, n]) => `${v}=${n}`)
    .join(" ");
  return (
    `${label}  sent ${w.sent}  ok ${w.ok}  4xx ${w.client}  5xx ${w.server}  errors ${w.errors}` +
    `  p50 ${quantile(sorted, 0.5)}  p99 ${quantile(sorted, 0.99)}  ${versions === "" ? "-" : versions}`
  );
}

process.stderr.write(`grpc-client: ${rps} calls/s to ${values.target}\n`);
// Calls are due at start + n / rps: catching up after a pause rather than drifting.
const start = performance.now();
let n = 0;
const tick = setInterval(() => {
  const due = Math.floor(((performance.now() - start) / 1000) * rps);
  for (; n < due; n++) send();
}, 5);
const report = setInterval(() => {
  process.stdout.write(`${line(new Date().toISOString().slice(11, 19), second)}\n`);
  second = empty();
}, 1000);
let finishing = false;
const finish = (): void => {
  if (finishing) return;
  finishing = true;
  clearInterval(tick);
  clearInterval(report);
  process.stdout.write(`${line(new Date().toISOString().slice(11, 19), second)}\n`);
  setTimeout(
    () => {
      process.stdout.write(`${line("total", total)}\n`);
      process.exit(0);
    },
    Math.min(timeoutMs, 2000),
  );
};
if (durationS > 0) setTimeout(finish, durationS * 1000);
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
