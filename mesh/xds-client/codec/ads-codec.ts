// The ADS messages the proxy sends and receives, through the generated table: typed as
// proto-loader's generated types, which the decoder's output matches field for field.
import type { DeltaDiscoveryRequest } from "../../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import type { DeltaDiscoveryResponse__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js";
import type { DiscoveryRequest } from "../../../src/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import type { DiscoveryResponse__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DiscoveryResponse.js";
import { TableDecoder } from "./decode.js";
import { TableEncoder } from "./encode.js";
import { TABLE } from "./table.generated.js";

const PACKAGE = "envoy.service.discovery.v3";

const decoder = new TableDecoder(TABLE);
const encoder = new TableEncoder(TABLE);

/** Any message of the table by full name, in proto-loader's decoded shape. */
export function decodeMessage(fullName: string, bytes: Buffer): Record<string, unknown> {
  return decoder.decode(fullName, bytes);
}

export function encodeMessage(fullName: string, message: object): Buffer {
  return encoder.encode(fullName, message as Record<string, unknown>);
}

export function encodeDiscoveryRequest(r: DiscoveryRequest): Buffer {
  return encodeMessage(`${PACKAGE}.DiscoveryRequest`, r);
}

export function encodeDeltaDiscoveryRequest(r: DeltaDiscoveryRequest): Buffer {
  return encodeMessage(`${PACKAGE}.DeltaDiscoveryRequest`, r);
}

export function decodeDiscoveryResponse(b: Buffer): DiscoveryResponse__Output {
  return decodeMessage(`${PACKAGE}.DiscoveryResponse`, b) as unknown as DiscoveryResponse__Output;
}

export function decodeDeltaDiscoveryResponse(b: Buffer): DeltaDiscoveryResponse__Output {
  return decodeMessage(
    `${PACKAGE}.DeltaDiscoveryResponse`,
    b,
  ) as unknown as DeltaDiscoveryResponse__Output;
}
