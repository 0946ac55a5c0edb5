// The AggregatedDiscoveryService client, built on grpc-js's generic client with the proxy's static
// codecs: no .proto file is loaded (that cost the proxy ~21 MB of RSS and ~430 ms at start).
import * as grpc from "@grpc/grpc-js";
import {
  decodeDeltaDiscoveryResponse,
  decodeDiscoveryResponse,
  encodeDeltaDiscoveryRequest,
  encodeDiscoveryRequest,
} from "./codec/ads-codec.js";
import type { DeltaCall } from "./delta-stream.js";
import type { SotwCall } from "./sotw-stream.js";

const SERVICE = "/envoy.service.discovery.v3.AggregatedDiscoveryService";

/** Servers never decode with these: the proxy is only ever the client. */
const unused = (): never => {
  throw new Error("the proxy's ADS codecs are client-side only");
};

const DEFINITION: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: `${SERVICE}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDiscoveryRequest,
    requestDeserialize: unused,
    responseSerialize: unused,
    responseDeserialize: decodeDiscoveryResponse,
  },
  DeltaAggregatedResources: {
    path: `${SERVICE}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeDeltaDiscoveryRequest,
    requestDeserialize: unused,
    responseSerialize: unused,
    responseDeserialize: decodeDeltaDiscoveryResponse,
  },
};

export interface AdsClient extends grpc.Client {
  StreamAggregatedResources(): SotwCall;
  DeltaAggregatedResources(): DeltaCall;
}

export type AdsClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => AdsClient;

let ctor: AdsClientConstructor | undefined;

export function adsClientConstructor(): AdsClientConstructor {
  ctor ??= grpc.makeGenericClientConstructor(
    DEFINITION,
    "AggregatedDiscoveryService",
  ) as unknown as AdsClientConstructor;
  return ctor;
}
