import assert from "node:assert/strict";
import type { Route } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import { gatewayRoutes } from "../../../src/xds/translate/gateway-routes.js";
import { cases, clusterOf, compiled, NS, path } from "./gateway-fixtures.js";

/** Drops keys set to undefined, so a case can remove a default field. */
const clean = (rs: Route[]): unknown => JSON.parse(JSON.stringify(rs));

describe("xds gateway routes", () => {
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual(clean(gatewayRoutes([c.route], clusterOf)), clean(c.want));
    });

  it("redirect codes: each of Gateway API's five as Envoy's enum", () => {
    const codes = [301, 302, 303, 307, 308].map(
      (statusCode) =>
        gatewayRoutes([compiled({ action: { kind: "redirect", statusCode } })], clusterOf)[0]
          ?.redirect?.response_code,
    );
    assert.deepEqual(codes, [
      "MOVED_PERMANENTLY",
      "FOUND",
      "SEE_OTHER",
      "TEMPORARY_REDIRECT",
      "PERMANENT_REDIRECT",
    ]);
  });

  it("keeps the compiled order, rule by rule", () => {
    const routes = gatewayRoutes(
      [
        compiled({ match: path({ type: "Exact", value: "/x" }), rule: 1 }),
        compiled({ route: `${NS}/other`, rule: 0 }),
      ],
      clusterOf,
    );
    assert.deepEqual(
      routes.map((r) => r.name),
      [`${NS}/web/1`, `${NS}/other/0`],
    );
  });
});
