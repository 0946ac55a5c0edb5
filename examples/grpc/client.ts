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
import type { Window } from "../loadgen/window.js";
import { runOpenLoop, Windows } from "../loadgen/window.js";

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

const windows = new Windows();
const record = (f: (w: Window) => void): void => {
  windows.record(f);
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
    if (err !== null && windows.total.server + windows.total.errors <= 5)
      process.stderr.write(`grpc-client: ${grpc.status[err.code]}: ${err.details}\n`);
  });
}

process.stderr.write(`grpc-client: ${rps} calls/s to ${values.target}\n`);
runOpenLoop(windows, { rps, durationS, timeoutMs, send });
