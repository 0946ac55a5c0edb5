// A protocol-level ADS client for unit tests of the server: sends exactly the requests a test
// writes and hands back responses in order. Conformance tests use real xDS clients instead.
import * as grpc from "@grpc/grpc-js";
import type { DeltaDiscoveryRequest } from "../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import type { DeltaDiscoveryResponse__Output } from "../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js";
import type { DiscoveryRequest } from "../../src/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import type { DiscoveryResponse__Output } from "../../src/xds/generated/envoy/service/discovery/v3/DiscoveryResponse.js";
import { loadXdsProtos } from "../../src/xds/protos.js";

class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];

  push(v: T): void {
    const w = this.waiters.shift();
    if (w !== undefined) w(v);
    else this.items.push(v);
  }

  next(timeoutMs = 2000): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      const waiter = (x: T): void => {
        clearTimeout(t);
        resolve(x);
      };
      const t = setTimeout(() => {
        // This waiter only: another may be waiting too.
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if nothing arrives within `ms`. */
  async quiet(ms: number): Promise<boolean> {
    if (this.items.length > 0) return false;
    try {
      await this.next(ms).then((v) => {
        this.items.unshift(v);
      });
      return false;
    } catch {
      return true;
    }
  }
}

function adsClient(port: number): grpc.Client & {
  StreamAggregatedResources: (
    md?: grpc.Metadata,
  ) => grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>;
  DeltaAggregatedResources: () => grpc.ClientDuplexStream<
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse__Output
  >;
} {
  const Ctor = loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService;
  // The generated client type has no typed stream methods for the aggregated service.
  // A subchannel of its own: grpc-js shares subchannels by address across clients, so a client of
  // a server that reuses an earlier test server's port could wait out that old connection's
  // back-off (up to 2 minutes) before its first request goes anywhere.
  const client: unknown = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  return client as ReturnType<typeof adsClient>;
}

/** Credentials and the node's NAMESPACE, for servers that authenticate their callers. */
export interface TestClientIdentity {
  readonly metadata?: grpc.Metadata;
  readonly namespace?: string;
}

function testNode(id: string, cluster: string, namespace: string | undefined): object {
  return {
    id,
    cluster,
    ...(namespace === undefined
      ? {}
      : { metadata: { fields: { NAMESPACE: { stringValue: namespace } } } }),
  };
}

export class SotwTestClient {
  readonly responses = new Queue<DiscoveryResponse__Output>();
  /** The status the stream ended with. */
  readonly ended: Promise<{ code: number; details: string }>;
  private readonly client;
  private readonly call;
  private readonly node: object;

  constructor(
    port: number,
    readonly nodeId = "test-node",
    identity: TestClientIdentity = {},
  ) {
    this.node = testNode(nodeId, "test", identity.namespace);
    this.client = adsClient(port);
    this.call = this.client.StreamAggregatedResources(identity.metadata ?? new grpc.Metadata());
    this.call.on("data", (r: DiscoveryResponse__Output) => {
      this.responses.push(r);
    });
    this.call.on("error", () => undefined);
    const call = this.call;
    this.ended = new Promise((resolve) => {
      call.on("status", (s: { code: number; details: string }) => {
        resolve(s);
      });
    });
  }

  send(req: DiscoveryRequest): void {
    this.call.write({ node: this.node, ...req });
  }

  /** A request as a client that never names its node sends it. */
  sendWithoutNode(req: DiscoveryRequest): void {
    this.call.write(req);
  }

  ack(r: DiscoveryResponse__Output, names: string[] = []): void {
    this.send({
      type_url: r.type_url,
      version_info: r.version_info,
      response_nonce: r.nonce,
      resource_names: names,
    });
  }

  nack(
    r: DiscoveryResponse__Output,
    previous: string,
    message: string,
    names: string[] = [],
  ): void {
    this.send({
      type_url: r.type_url,
      version_info: previous,
      response_nonce: r.nonce,
      resource_names: names,
      error_detail: { code: 3, message },
    });
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

export class DeltaTestClient {
  readonly responses = new Queue<DeltaDiscoveryResponse__Output>();
  private readonly client;
  private readonly call;

  constructor(
    port: number,
    readonly nodeId = "delta-node",
  ) {
    this.client = adsClient(port);
    this.call = this.client.DeltaAggregatedResources();
    this.call.on("data", (r: DeltaDiscoveryResponse__Output) => {
      this.responses.push(r);
    });
    this.call.on("error", () => undefined);
  }

  send(req: DeltaDiscoveryRequest): void {
    this.call.write({ node: { id: this.nodeId }, ...req });
  }

  ack(r: DeltaDiscoveryResponse__Output): void {
    this.send({ type_url: r.type_url, response_nonce: r.nonce });
  }

  nack(r: DeltaDiscoveryResponse__Output, message: string): void {
    this.send({
      type_url: r.type_url,
      response_nonce: r.nonce,
      error_detail: { code: 3, message },
    });
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}
