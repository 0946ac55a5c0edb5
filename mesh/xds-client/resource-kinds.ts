// The xDS resource types the proxy follows, their type URLs, and what each converts to.
import { typeUrlOf } from "../../src/xds/type-urls.js";
import type { ClusterConfig, EndpointSet, RouteTable } from "../routing/model.js";
import type { TrustBundle } from "../routing/security-model.js";
import type { ListenerResource } from "./convert-listener.js";

export type ResourceKind = "listener" | "route" | "cluster" | "endpoint" | "secret";

export interface KindValues {
  readonly listener: ListenerResource;
  readonly route: RouteTable;
  readonly cluster: ClusterConfig;
  readonly endpoint: EndpointSet;
  readonly secret: TrustBundle;
}

export const TYPE_URL: Readonly<Record<ResourceKind, string>> = {
  listener: typeUrlOf("Listener"),
  route: typeUrlOf("RouteConfiguration"),
  cluster: typeUrlOf("Cluster"),
  endpoint: typeUrlOf("ClusterLoadAssignment"),
  secret: typeUrlOf("Secret"),
};

/** Request order on a new stream, as Envoy: clusters and their endpoints before listeners. */
export const KINDS: readonly ResourceKind[] = [
  "cluster",
  "endpoint",
  "listener",
  "route",
  "secret",
];

/** Listeners and clusters are subscribed by wildcard; routes, endpoints and secrets by name. */
export function isWildcardKind(kind: ResourceKind): boolean {
  return kind === "listener" || kind === "cluster";
}

export function kindOf(typeUrl: string): ResourceKind | undefined {
  return KINDS.find((k) => TYPE_URL[k] === typeUrl);
}

/** The message names Envoy uses in its own error messages. */
export const LABEL: Readonly<Record<ResourceKind, string>> = {
  listener: "Listener",
  route: "RouteConfiguration",
  cluster: "Cluster",
  endpoint: "ClusterLoadAssignment",
  secret: "Secret",
};
