// A transparent ADS proxy for tests: forwards bytes between a client and the real server, and
// records every request the client sent, decoded, so tests can check the protocol exactly.
import * as grpc from "@grpc/grpc-js";
import type { DeltaDiscoveryRequest__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import type { DiscoveryRequest__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";

const identity = (b: Buffer): Buffer => b;

type Method = "DeltaAggregatedResources" | "StreamAggregatedResources";

export interface Recorded {
  /** Which stream (counting from 1) the request was sent on. */
  readonly stream: number;
  readonly method: Method;
  readonly request: DeltaDiscoveryRequest__Output | DiscoveryRequest__Output;
}

export class AdsRecorder {
  readonly requests: Recorded[] = [];
  port = 0;
  private streams = 0;
  private readonly server = new grpc.Server();

  constructor(private readonly upstream: () => string) {
    const service =
      loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
    const raw: grpc.ServiceDefinition = Object.fromEntries(
      Object.entries(service).map(([name, m]) => [
        name,
        {
          ...m,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      ]),
    );
    const Client = grpc.makeGenericClientConstructor(raw, "ads");
    const forward =
      (method: Method) =>
      (down: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
        const stream = ++this.streams;
        const client = new Client(this.upstream(), grpc.credentials.createInsecure());
        const up = client.makeBidiStreamRequest<Buffer, Buffer>(
          service[method].path,
          identity,
          identity,
        );
        const decode = service[method].requestDeserialize as (b: Buffer) => Recorded["request"];
        down.on("data", (b: Buffer) => {
          this.requests.push({ stream, method, request: decode(b) });
          up.write(b);
        });
        up.on("data", (b: Buffer) => down.write(b));
        up.on("error", () => undefined);
        up.on("status", (s: grpc.StatusObject) => {
          client.close();
          if (s.code === grpc.status.OK) down.end();
          else down.emit("error", { code: s.code, details: s.details });
        });
        const cancel = (): void => {
          up.cancel();
        };
        down.on("cancelled", cancel);
        down.on("error", cancel);
      };
    this.server.addService(raw, {
      DeltaAggregatedResources: forward("DeltaAggregatedResources"),
      StreamAggregatedResources: forward("StreamAggregatedResources"),
    });
  }

  async listen(): Promise<number> {
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err !== null) reject(err);
        else resolve(port);
      });
    });
    return this.port;
  }

  /** Requests of one stream, in order. */
  on(stream: number): Recorded["request"][] {
    return this.requests.filter((r) => r.stream === stream).map((r) => r.request);
  }

  get streamCount(): number {
    return this.streams;
  }

  close(): void {
    this.server.forceShutdown();
  }
}
