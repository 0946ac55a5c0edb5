// What an ADS stream needs from the client's state: the names to subscribe, what it holds, and
// where to apply responses. Implemented by ConfigState; the streams only do protocol framing.
import type { Resource__Output } from "../../src/xds/generated/envoy/service/discovery/v3/Resource.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type { ResourceKind } from "./resource-kinds.js";

export interface AdsHandler {
  /** Names to subscribe to; `*` alone for a wildcard type. */
  wanted(kind: ResourceKind): ReadonlySet<string>;
  /** Version of the last accepted response of a type ("" before any). */
  acceptedVersion(kind: ResourceKind): string;
  /** Name to version of the resources held, for a delta stream's initial_resource_versions. */
  resourceVersions(kind: ResourceKind): Record<string, string>;
  /** Applies a state-of-the-world response; returns the NACK message if it is rejected. */
  applySotw(
    kind: ResourceKind,
    version: string,
    nonce: string,
    resources: readonly Any__Output[],
  ): string | undefined;
  /** Applies a delta response; returns the NACK message if it is rejected. */
  applyDelta(
    kind: ResourceKind,
    version: string,
    nonce: string,
    resources: readonly Resource__Output[],
    removed: readonly string[],
  ): string | undefined;
  /** Called after each response was answered: time to publish, or to keep warming. */
  settle(): void;
}

/** google.rpc.Code INVALID_ARGUMENT, what Envoy sends in a NACK. */
export const INVALID_ARGUMENT = 3;
