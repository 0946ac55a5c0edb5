// Loads the Envoy v3 protos shipped in @grpc/grpc-js-xds once, and gives typed access to the gRPC
// services and to each resource's encoder. Options match scripts/gen-xds-types.sh.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { MessageTypeDefinition } from "@grpc/proto-loader";
import type { CodecName } from "./type-urls.js";
import { FULL_NAMES } from "./type-urls.js";
import type { ProtoGrpcType as AdsProto } from "./generated/ads.js";
import type { ProtoGrpcType as CsdsProto } from "./generated/csds.js";
import type { Cluster, Cluster__Output } from "./generated/envoy/config/cluster/v3/Cluster.js";
import type {
  ClusterLoadAssignment,
  ClusterLoadAssignment__Output,
} from "./generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { Listener, Listener__Output } from "./generated/envoy/config/listener/v3/Listener.js";
import type {
  RouteConfiguration,
  RouteConfiguration__Output,
} from "./generated/envoy/config/route/v3/RouteConfiguration.js";
import type {
  HTTPFault,
  HTTPFault__Output,
} from "./generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js";
import type { RBAC, RBAC__Output } from "./generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type {
  RBACPerRoute,
  RBACPerRoute__Output,
} from "./generated/envoy/extensions/filters/http/rbac/v3/RBACPerRoute.js";
import type {
  Router,
  Router__Output,
} from "./generated/envoy/extensions/filters/http/router/v3/Router.js";
import type {
  HttpConnectionManager,
  HttpConnectionManager__Output,
} from "./generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js";
import type {
  Secret,
  Secret__Output,
} from "./generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import type {
  DownstreamTlsContext,
  DownstreamTlsContext__Output,
} from "./generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.js";
import type {
  UpstreamTlsContext,
  UpstreamTlsContext__Output,
} from "./generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js";

export { typeUrlOf } from "./type-urls.js";

export const PROTO_FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/status/v3/csds.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
] as const;

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  json: true,
};

/** Message codecs for every type vireo puts into an `Any`. */
export interface Codecs extends Record<CodecName, unknown> {
  readonly Listener: MessageTypeDefinition<Listener, Listener__Output>;
  readonly RouteConfiguration: MessageTypeDefinition<
    RouteConfiguration,
    RouteConfiguration__Output
  >;
  readonly Cluster: MessageTypeDefinition<Cluster, Cluster__Output>;
  readonly ClusterLoadAssignment: MessageTypeDefinition<
    ClusterLoadAssignment,
    ClusterLoadAssignment__Output
  >;
  readonly Secret: MessageTypeDefinition<Secret, Secret__Output>;
  readonly HttpConnectionManager: MessageTypeDefinition<
    HttpConnectionManager,
    HttpConnectionManager__Output
  >;
  readonly Router: MessageTypeDefinition<Router, Router__Output>;
  readonly HTTPFault: MessageTypeDefinition<HTTPFault, HTTPFault__Output>;
  readonly RBAC: MessageTypeDefinition<RBAC, RBAC__Output>;
  readonly RBACPerRoute: MessageTypeDefinition<RBACPerRoute, RBACPerRoute__Output>;
  readonly UpstreamTlsContext: MessageTypeDefinition<
    UpstreamTlsContext,
    UpstreamTlsContext__Output
  >;
  readonly DownstreamTlsContext: MessageTypeDefinition<
    DownstreamTlsContext,
    DownstreamTlsContext__Output
  >;
}

export interface XdsProtos {
  readonly grpc: AdsProto & CsdsProto;
  readonly codecs: Codecs;
  /** The directories protos are resolved from (for clients that load them too). */
  readonly includeDirs: readonly string[];
}

export function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  return ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) =>
    join(root, "deps", d),
  );
}

let loaded: XdsProtos | undefined;

/** Loads once per process (about 200 ms); later calls return the same definitions. */
export function loadXdsProtos(): XdsProtos {
  if (loaded !== undefined) return loaded;
  const includeDirs = protoIncludeDirs();
  const definition = protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs });
  const codec = (name: CodecName): unknown => {
    const def = definition[FULL_NAMES[name]];
    if (def === undefined || !("serialize" in def))
      throw new Error(`proto message ${FULL_NAMES[name]} not loaded`);
    return def;
  };
  const codecs = Object.fromEntries(
    (Object.keys(FULL_NAMES) as CodecName[]).map((k) => [k, codec(k)]),
  ) as unknown as Codecs;
  loaded = {
    grpc: grpc.loadPackageDefinition(definition) as unknown as AdsProto & CsdsProto,
    codecs,
    includeDirs,
  };
  return loaded;
}
