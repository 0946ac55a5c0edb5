// The RBAC filter's semantics from real Envoy RBAC protos (encoded, decoded as the xDS client
// receives them, converted): Istio's compiled shapes and the building blocks, as tables.
import assert from "node:assert/strict";
import type { RBAC as HttpRbac } from "../../../src/xds/generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type { Permission } from "../../../src/xds/generated/envoy/config/rbac/v3/Permission.js";
import type { Principal } from "../../../src/xds/generated/envoy/config/rbac/v3/Principal.js";
import type { RbacInput, RbacRules } from "../../../mesh/authz/rbac.js";
import { evaluateRbac } from "../../../mesh/authz/rbac.js";
import { rbacRules } from "../../../mesh/xds-client/convert-rbac.js";
import { guarded } from "../../../mesh/xds-client/proto-values.js";
import { ok, rejected } from "./xds-client-convert-helpers.js";
import { codecs, decoded } from "./xds-client-fixtures.js";

const SLEEP = "spiffe://cluster.local/ns/foo/sa/sleep";
const OTHER = "spiffe://cluster.local/ns/bar/sa/other";

function compile(config: HttpRbac): RbacRules | undefined {
  return ok(guarded("RBAC", () => rbacRules(decoded(codecs.RBAC, config))));
}

function rules(
  action: "ALLOW" | "DENY",
  policies: Record<string, { permissions: Permission[]; principals: Principal[] }>,
): RbacRules {
  const r = compile({ rules: { action, policies } });
  assert.ok(r);
  return r;
}

const req = (o: Partial<RbacInput> = {}): RbacInput => ({
  method: "GET",
  authority: "reviews",
  path: "/",
  headers: {},
  destinationPort: 9080,
  destinationIp: "10.0.0.5",
  directRemoteIp: "10.0.0.9",
  peerPrincipal: SLEEP,
  ...o,
});

const any: Permission = { any: true };
const anyone: Principal = { any: true };
const principal = (exact: string): Principal => ({ authenticated: { principal_name: { exact } } });
// Istio's namespace match: a regex (anything, /ns/<ns>/, anything) on the URI SAN.
const namespace = (ns: string): Principal => ({
  authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${ns}/.*` } } },
});
const method = (m: string): Permission => ({
  header: { name: ":method", string_match: { exact: m } },
});
const pathPrefix = (p: string): Permission => ({ url_path: { path: { prefix: p } } });

describe("RBAC filter semantics (real envoy.config.rbac.v3 protos)", () => {
  const allowSleep = rules("ALLOW", {
    "ns[foo]-policy[a]-rule[0]": { permissions: [any], principals: [principal(SLEEP)] },
  });
  const table: [string, RbacRules, RbacInput, boolean][] = [
    ["ALLOW principal: the principal", allowSleep, req(), true],
    ["ALLOW principal: another principal", allowSleep, req({ peerPrincipal: OTHER }), false],
    [
      "ALLOW principal: plaintext (no peer certificate)",
      allowSleep,
      req({ peerPrincipal: undefined }),
      false,
    ],
    ["ALLOW with no policies denies everything (allow-nothing)", rules("ALLOW", {}), req(), false],
    [
      "DENY notNamespaces [foo] (not_id): from bar",
      rules("DENY", { d: { permissions: [any], principals: [{ not_id: namespace("foo") }] } }),
      req({ peerPrincipal: OTHER }),
      false,
    ],
    [
      "DENY notNamespaces [foo] (not_id): from foo",
      rules("DENY", { d: { permissions: [any], principals: [{ not_id: namespace("foo") }] } }),
      req(),
      true,
    ],
    [
      "DENY notNamespaces: plaintext counts as not-in-foo",
      rules("DENY", { d: { permissions: [any], principals: [{ not_id: namespace("foo") }] } }),
      req({ peerPrincipal: undefined }),
      false,
    ],
    [
      "DENY paths /admin* ignores the query",
      rules("DENY", { d: { permissions: [pathPrefix("/admin")], principals: [anyone] } }),
      req({ path: "/admin/x?y=1" }),
      false,
    ],
    [
      "ALLOW paths /info* AND methods GET: POST /info",
      rules("ALLOW", {
        a: {
          permissions: [{ and_rules: { rules: [pathPrefix("/info"), method("GET")] } }],
          principals: [anyone],
        },
      }),
      req({ method: "POST", path: "/info" }),
      false,
    ],
    [
      "ALLOW paths /info* AND methods GET: GET /info/1",
      rules("ALLOW", {
        a: {
          permissions: [{ and_rules: { rules: [pathPrefix("/info"), method("GET")] } }],
          principals: [anyone],
        },
      }),
      req({ path: "/info/1" }),
      true,
    ],
    [
      "or_rules of exact/suffix paths",
      rules("ALLOW", {
        a: {
          permissions: [
            {
              or_rules: {
                rules: [
                  { url_path: { path: { exact: "/a" } } },
                  { url_path: { path: { suffix: ".png" } } },
                ],
              },
            },
          ],
          principals: [anyone],
        },
      }),
      req({ path: "/img/x.png" }),
      true,
    ],
    [
      "safe_regex path must match whole",
      rules("ALLOW", {
        a: {
          permissions: [{ url_path: { path: { safe_regex: { regex: "/v[0-9]+" } } } }],
          principals: [anyone],
        },
      }),
      req({ path: "/v1/x" }),
      false,
    ],
    [
      "destination_port (Istio ports)",
      rules("ALLOW", { a: { permissions: [{ destination_port: 9080 }], principals: [anyone] } }),
      req({ destinationPort: 9090 }),
      false,
    ],
    [
      "not_rule of a method",
      rules("ALLOW", {
        a: { permissions: [{ not_rule: method("DELETE") }], principals: [anyone] },
      }),
      req({ method: "DELETE" }),
      false,
    ],
    [
      "and_ids: principal and direct_remote_ip",
      rules("ALLOW", {
        a: {
          permissions: [any],
          principals: [
            {
              and_ids: {
                ids: [
                  principal(SLEEP),
                  { direct_remote_ip: { address_prefix: "10.0.0.0", prefix_len: { value: 24 } } },
                ],
              },
            },
          ],
        },
      }),
      req({ directRemoteIp: "10.0.1.9" }),
      false,
    ],
    [
      "or_ids: either principal",
      rules("ALLOW", {
        a: {
          permissions: [any],
          principals: [{ or_ids: { ids: [principal(OTHER), principal(SLEEP)] } }],
        },
      }),
      req(),
      true,
    ],
    [
      "principal prefix (Istio `prefix*`)",
      rules("ALLOW", {
        a: {
          permissions: [any],
          principals: [
            { authenticated: { principal_name: { prefix: "spiffe://cluster.local/ns/foo/" } } },
          ],
        },
      }),
      req(),
      true,
    ],
    [
      "principal presence (Istio `*` → .+): plaintext is not present",
      rules("ALLOW", {
        a: {
          permissions: [any],
          principals: [{ authenticated: { principal_name: { safe_regex: { regex: ".+" } } } }],
        },
      }),
      req({ peerPrincipal: undefined }),
      false,
    ],
  ];
  for (const [name, r, input, allowed] of table) {
    it(name, () => {
      assert.equal(evaluateRbac(r, input).allowed, allowed);
    });
  }

  it("DENY beats ALLOW: both filters in Istio's order, the DENY one first", () => {
    const deny = rules("DENY", {
      d: { permissions: [{ any: true }], principals: [principal(SLEEP)] },
    });
    const allowAll = rules("ALLOW", { a: { permissions: [any], principals: [anyone] } });
    const decide = (i: RbacInput) => [deny, allowAll].every((r) => evaluateRbac(r, i).allowed);
    assert.equal(decide(req()), false);
    assert.equal(decide(req({ peerPrincipal: OTHER })), true);
  });

  it("no rules: the filter lets everything by", () => {
    assert.equal(compile({}), undefined);
  });

  it("refuses what it cannot evaluate exactly, naming the policy", () => {
    const r = (config: HttpRbac) =>
      rejected(guarded("RBAC", () => rbacRules(decoded(codecs.RBAC, config))));
    assert.match(
      r({
        rules: {
          action: "ALLOW",
          policies: { p: { permissions: [{ metadata: { filter: "x" } }], principals: [anyone] } },
        },
      }),
      /policy p: permission metadata is not supported/,
    );
    assert.match(
      r({
        rules: {
          action: "ALLOW",
          policies: { p: { permissions: [any], principals: [{ filter_state: { key: "k" } }] } },
        },
      }),
      /principal filter_state is not supported/,
    );
    assert.match(
      r({
        rules: {
          action: "ALLOW",
          policies: { p: { permissions: [any], principals: [anyone], condition: { id: 1 } } },
        },
      }),
      /CEL conditions are not supported/,
    );
  });
});
