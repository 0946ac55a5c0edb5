// What the gRPC example's server and client share: the Greeter service definition, loaded from
// greeter.proto as any grpc-js application would load its own.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  version: string;
}

const definition = protoLoader.loadSync(fileURLToPath(new URL("greeter.proto", import.meta.url)), {
  keepCase: true,
  defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  vireo: { example: { Greeter: grpc.ServiceClientConstructor } };
};

export const Greeter = loaded.vireo.example.Greeter;
