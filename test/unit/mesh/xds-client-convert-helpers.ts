// Helpers for the conversion tests: results, and one-route route configurations to convert.
import assert from "node:assert/strict";
import type { Route as EnvoyRoute } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteAction as EnvoyRouteAction } from "../../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import type { VirtualHost as EnvoyVirtualHost } from "../../../src/xds/generated/envoy/config/route/v3/VirtualHost.js";
import type { HTTPFault } from "../../../src/xds/generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js";
import { typeUrlOf } from "../../../src/xds/protos.js";
import type { ForwardRoute, Route, RouteTable } from "../../../mesh/routing/model.js";
import type { ConvertResult } from "../../../mesh/xds-client/convert.js";
import { convertRouteConfiguration } from "../../../mesh/xds-client/convert.js";
import { codecs, decoded } from "./xds-client-fixtures.js";

export const ok = <T>(r: ConvertResult<T>): T => {
  if (!r.ok) assert.fail(r.message);
  return r.value;
};
export const rejected = <T>(r: ConvertResult<T>): string => {
  if (r.ok) assert.fail("accepted");
  return r.message;
};

export function table(vhs: EnvoyVirtualHost[], extra = {}): ConvertResult<RouteTable> {
  return convertRouteConfiguration(
    decoded(codecs.RouteConfiguration, { name: "r", virtual_hosts: vhs, ...extra }),
  );
}

export const defaultAction: EnvoyRouteAction = { cluster: "c", timeout: { seconds: 1 } };

/** One route in one virtual host; fields override a prefix-"/" route to cluster c. */
export function convertAny(
  route: EnvoyRoute,
  vh: Partial<EnvoyVirtualHost> = {},
  rc = {},
): ConvertResult<Route> {
  const r = table(
    [
      {
        name: "vh",
        domains: ["a.example"],
        routes: [{ name: "x", match: { prefix: "/" }, route: defaultAction, ...route }],
        ...vh,
      },
    ],
    rc,
  );
  if (!r.ok) return r;
  const first = r.value.virtualHosts[0]?.routes[0];
  return first === undefined ? assert.fail("no route") : { ok: true, value: first };
}

/** As convertAny, for a route that forwards. */
export function convert(
  route: EnvoyRoute,
  vh: Partial<EnvoyVirtualHost> = {},
  rc = {},
): ConvertResult<ForwardRoute> {
  const r = convertAny(route, vh, rc);
  if (!r.ok) return r;
  return r.value.kind === "forward" ? { ok: true, value: r.value } : assert.fail("a local route");
}

export const packFault = (f: HTTPFault) => ({
  "envoy.filters.http.fault": {
    type_url: typeUrlOf("HTTPFault"),
    value: codecs.HTTPFault.serialize(f),
  },
});
