// The conformance test service (echo.proto), loaded once for the grpc-js backend and client.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export const ECHO_PROTO = join(dirname(fileURLToPath(import.meta.url)), "echo.proto");

/** The full method path every client calls. */
export const HELLO_METHOD = "/vireo.test.Echo/Hello";

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  backend: string;
}

export interface EchoService extends grpc.ServiceDefinition {
  Hello: grpc.MethodDefinition<HelloRequest, HelloReply>;
}

let service: EchoService | undefined;

export function echoService(): EchoService {
  if (service !== undefined) return service;
  const definition = protoLoader.loadSync(ECHO_PROTO, {
    keepCase: true,
    defaults: true,
    longs: String,
    enums: String,
  });
  const def = definition["vireo.test.Echo"];
  if (def === undefined || !("Hello" in def)) throw new Error(`${ECHO_PROTO}: no vireo.test.Echo`);
  service = def as unknown as EchoService;
  if (service.Hello.path !== HELLO_METHOD) throw new Error(`unexpected path ${service.Hello.path}`);
  return service;
}
