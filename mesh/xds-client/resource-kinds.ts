// The four xDS resource types the proxy follows, their type URLs, and what each converts to.
import { typeUrlOf } from "../../src/xds/protos.js";
import type { ClusterConfig, EndpointSet, ListenerConfig, RouteTable } from "../routing/model.js";

export type ResourceKind = "listener" | "route" | "cluster" | "endpoint";

export interface KindValues {
  readonly listener: ListenerConfig;
  readonly route: RouteTable;
  readonly cluster: ClusterConfig;
  readonly endpoint: EndpointSet;
}

export const TYPE_URL: Readonly<Record<ResourceKind, string>> = {
  listener: typeUrlOf("Listener"),
  route: typeUrlOf("RouteConfiguration"),
  cluster: typeUrlOf("Cluster"),
  endpoint: typeUrlOf("ClusterLoadAssignment"),
};

/** Request order on a new stream, as Envoy: clusters and their endpoints before listeners. */
export const KINDS: readonly ResourceKind[] = ["cluster", "endpoint", "listener", "route"];

/** Listeners and clusters are subscribed by wildcard; routes and endpoints by name. */
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
};
