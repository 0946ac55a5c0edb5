// API listeners: what a proxyless gRPC client (and our own proxy) looks up first. Each holds an
// HTTP connection manager that fetches its routes over ADS.
import type { Listener } from "../generated/envoy/config/listener/v3/Listener.js";
import type { HttpConnectionManager } from "../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js";
import type { Any } from "../generated/google/protobuf/Any.js";
import type { Codecs } from "../protos.js";
import { typeUrlOf } from "../protos.js";
import { ADS, packAny } from "./proto-values.js";
import { FAULT_FILTER } from "./routes.js";

export const ROUTER_FILTER = "envoy.filters.http.router";

export type ListenerCodecs = Pick<Codecs, "HttpConnectionManager" | "HTTPFault" | "Router">;

/**
 * The connection manager shared by every listener of one route configuration. The fault filter
 * is empty and takes its settings per route; the router is last, which gRPC requires (A39).
 */
export function buildHcm(statPrefix: string, routeConfigName: string, codecs: ListenerCodecs): Any {
  const hcm: HttpConnectionManager = {
    stat_prefix: statPrefix,
    rds: { route_config_name: routeConfigName, config_source: ADS },
    http_filters: [
      {
        name: FAULT_FILTER,
        typed_config: packAny(typeUrlOf("HTTPFault"), codecs.HTTPFault.serialize({})),
      },
      {
        name: ROUTER_FILTER,
        typed_config: packAny(typeUrlOf("Router"), codecs.Router.serialize({})),
      },
    ],
  };
  return packAny(typeUrlOf("HttpConnectionManager"), codecs.HttpConnectionManager.serialize(hcm));
}

/** No address: gRPC clients look listeners up by name, and our proxy binds its own socket. */
export function apiListener(name: string, hcm: Any): Listener {
  return { name, api_listener: { api_listener: hcm } };
}
