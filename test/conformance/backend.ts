// gRPC backends for the conformance tests: each serves vireo.test.Echo/Hello on 127.0.0.1 and
// replies with its own id, which is how the clients count RPCs per backend.
//
// Two optional request metadata keys make a backend misbehave on demand (for timeout and status
// checks): `x-echo-sleep-ms: N` delays the reply by N ms, `x-echo-status: C` fails the RPC with gRPC
// status code C instead of replying. Both apply only to backends whose id is listed in
// `x-echo-only` (comma-separated) when that key is present.
import * as grpc from "@grpc/grpc-js";
import { echoService } from "./echo.js";
import type { HelloReply, HelloRequest } from "./echo.js";

export interface Backend {
  readonly id: string;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** RPCs received so far (including those that were told to fail). */
  requests(): number;
  /** Stops serving; in-flight RPCs get a second to finish, then are cancelled. */
  close(): Promise<void>;
}

export interface BackendOptions {
  /** Default 0 (any free port). Give a fixed port to restart a backend at the same address. */
  port?: number;
}

function metadataValue(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" ? v : undefined;
}

const STATUS_BY_NUMBER = new Map<number, grpc.status>(
  Object.values(grpc.status)
    .filter((s): s is grpc.status => typeof s === "number")
    .map((s) => [s, s]),
);

function toStatus(n: number): grpc.status {
  return STATUS_BY_NUMBER.get(n) ?? grpc.status.UNKNOWN;
}

export async function startBackend(id: string, options: BackendOptions = {}): Promise<Backend> {
  const server = new grpc.Server();
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();
  server.addService(echoService(), {
    Hello(
      call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ) {
      requests++;
      const only = metadataValue(call.metadata, "x-echo-only");
      const applies = only === undefined || only.split(",").includes(id);
      const sleepMs = applies ? Number(metadataValue(call.metadata, "x-echo-sleep-ms") ?? 0) : 0;
      const statusText = applies ? metadataValue(call.metadata, "x-echo-status") : undefined;
      const reply = (): void => {
        if (statusText !== undefined && Number(statusText) !== 0) {
          callback({
            code: toStatus(Number(statusText)),
            details: `x-echo-status from ${id}`,
          });
        } else {
          callback(null, { backend: id });
        }
      };
      if (sleepMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          reply();
        }, sleepMs);
        timers.add(t);
      } else {
        reply();
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => {
        if (err) reject(err);
        else resolve(p);
      },
    );
  });
  let closed: Promise<void> | undefined;
  return {
    id,
    port,
    address: `127.0.0.1:${port}`,
    requests: () => requests,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closed;
    },
  };
}

/** Starts one backend per id, each on its own free port of 127.0.0.1. */
export async function startBackends(ids: readonly string[]): Promise<Backend[]> {
  const started = await Promise.allSettled(ids.map((id) => startBackend(id)));
  const ok = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r) => r.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(ok.map((b) => b.close()));
    throw failed.reason;
  }
  return ok;
}
