// The gRPC example's server: plain grpc-js, no vireo code. Its version is its behaviour: every
// version answers `Greeter.SayHello` with its name; a version named like `*faulty*` fails 30 % of
// calls with INTERNAL. Image "vireo/grpc-greeter:<version>" on the local cluster.
//
//   node --import tsx examples/grpc/server.ts --version=v2 --port 9090
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import type { HelloReply, HelloRequest } from "./greeter.js";
import { Greeter } from "./greeter.js";

const env = process.env;
const { values } = parseArgs({
  options: {
    version: { type: "string", default: env.APP_VERSION ?? "v1" },
    port: { type: "string", default: env.PORT ?? "9090" },
    host: { type: "string", default: env.HOST ?? "0.0.0.0" },
    "error-percent": { type: "string", default: env.ERROR_PERCENT },
    "shutdown-delay-ms": { type: "string", default: env.SHUTDOWN_DELAY_MS ?? "2000" },
  },
});

function number(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(
      `grpc-greeter: --${name}: "${value}" is not a number from ${min} to ${max}\n`,
    );
    process.exit(2);
  }
  return n;
}

const version = values.version;
const errorPercent = number(
  "error-percent",
  values["error-percent"] ?? (version.includes("faulty") ? "30" : "0"),
  0,
  100,
);
const shutdownDelayMs = number("shutdown-delay-ms", values["shutdown-delay-ms"], 0, 600_000);
const port = number("port", values.port, 1, 65535);

// Exactly errorPercent % of calls fail, evenly spread (as the HTTP demo app does).
let calls = 0;
const failNext = (): boolean => {
  calls++;
  return Math.floor((calls * errorPercent) / 100) > Math.floor(((calls - 1) * errorPercent) / 100);
};

const server = new grpc.Server();
server.addService(Greeter.service, {
  SayHello(
    call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
    callback: grpc.sendUnaryData<HelloReply>,
  ) {
    if (failNext()) {
      callback({ code: grpc.status.INTERNAL, details: `${version} failed this call on purpose` });
      return;
    }
    callback(null, { message: `hello ${call.request.name}`, version });
  },
});

server.bindAsync(
  `${values.host}:${port}`,
  grpc.ServerCredentials.createInsecure(),
  (err, bound) => {
    if (err !== null) {
      process.stderr.write(
        `grpc-greeter: cannot listen on ${values.host}:${port}: ${err.message}\n`,
      );
      process.exit(1);
    }
    process.stderr.write(`grpc-greeter ${version} listening on ${values.host}:${bound}\n`);
  },
);

// Calls already routed here keep being answered for a moment after SIGTERM, then the server
// finishes those in flight.
process.on("SIGTERM", () => {
  setTimeout(() => {
    server.tryShutdown(() => process.exit(0));
  }, shutdownDelayMs);
});
