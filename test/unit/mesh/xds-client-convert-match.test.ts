import assert from "node:assert/strict";
import type { HeaderMatcher as EnvoyHeaderMatcher } from "../../../src/xds/generated/envoy/config/route/v3/HeaderMatcher.js";
import type { VirtualHost as EnvoyVirtualHost } from "../../../src/xds/generated/envoy/config/route/v3/VirtualHost.js";
import type { HttpConnectionManager } from "../../../src/xds/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js";
import { typeUrlOf } from "../../../src/xds/protos.js";
import { convertListener } from "../../../mesh/xds-client/convert.js";
import { convert, defaultAction, ok, rejected, table } from "./xds-client-convert-helpers.js";
import { codecs, decoded } from "./xds-client-fixtures.js";

describe("xDS client conversion: matches", () => {
  const header = (h: EnvoyHeaderMatcher) =>
    ok(convert({ match: { prefix: "/", headers: [h] } })).match.headers[0];
  const cases: [string, EnvoyHeaderMatcher, unknown][] = [
    [
      "exact",
      { name: "X-User", exact_match: "a" },
      { name: "x-user", match: { kind: "exact", value: "a", ignoreCase: false }, invert: false },
    ],
    [
      "prefix",
      { name: "x", prefix_match: "a" },
      { name: "x", match: { kind: "prefix", value: "a", ignoreCase: false }, invert: false },
    ],
    [
      "suffix",
      { name: "x", suffix_match: "a" },
      { name: "x", match: { kind: "suffix", value: "a", ignoreCase: false }, invert: false },
    ],
    [
      "contains",
      { name: "x", contains_match: "a" },
      { name: "x", match: { kind: "contains", value: "a", ignoreCase: false }, invert: false },
    ],
    [
      "present",
      { name: "x", present_match: true },
      { name: "x", match: { kind: "present" }, invert: false },
    ],
    [
      "absent",
      { name: "x", present_match: false },
      { name: "x", match: { kind: "present" }, invert: true },
    ],
    ["no specifier", { name: "x" }, { name: "x", match: { kind: "present" }, invert: false }],
    [
      "inverted",
      { name: "x", exact_match: "a", invert_match: true },
      { name: "x", match: { kind: "exact", value: "a", ignoreCase: false }, invert: true },
    ],
    [
      "string_match",
      { name: "x", string_match: { prefix: "Ab", ignore_case: true } },
      { name: "x", match: { kind: "prefix", value: "Ab", ignoreCase: true }, invert: false },
    ],
  ];
  for (const [what, input, expected] of cases) {
    it(`header ${what}`, () => {
      assert.deepEqual(header(input), expected);
    });
  }

  it("header regexes match the whole value, as RE2 full matches do", () => {
    const h = header({ name: "x", safe_regex_match: { regex: "v[0-9]+" } });
    assert.equal(h?.match.kind, "regex");
    const re = h?.match.kind === "regex" ? h.match.regex : /^$/;
    assert.equal(re.test("v12"), true);
    assert.equal(re.test("xv12"), false);
    assert.equal(re.test("v12x"), false);
  });

  it("query parameters: string and presence matches; present_match false is refused", () => {
    const r = ok(
      convert({
        match: {
          prefix: "/",
          query_parameters: [
            { name: "a", string_match: { exact: "1" } },
            { name: "b", present_match: true },
            { name: "c" },
          ],
        },
      }),
    );
    assert.deepEqual(r.match.query, [
      { name: "a", match: { kind: "exact", value: "1", ignoreCase: false } },
      { name: "b", match: { kind: "present" } },
      { name: "c", match: { kind: "present" } },
    ]);
    assert.match(
      rejected(
        convert({
          match: { prefix: "/", query_parameters: [{ name: "d", present_match: false }] },
        }),
      ),
      /query parameter matcher d: present_match false never matches/,
    );
  });

  it("paths, case sensitivity, gRPC and runtime fractions in each denominator", () => {
    const exact = ok(convert({ match: { path: "/a", case_sensitive: { value: false } } })).match;
    assert.deepEqual(exact.path, { kind: "exact", value: "/a" });
    assert.equal(exact.caseSensitive, false);
    const re = ok(convert({ match: { safe_regex: { regex: "/api/.*" } } })).match.path;
    assert.equal(re.kind === "regex" && re.regex.test("/api/x"), true);
    const grpc = ok(convert({ match: { prefix: "/", grpc: {} } })).match;
    assert.deepEqual(grpc.headers.at(-1)?.match, {
      kind: "prefix",
      value: "application/grpc",
      ignoreCase: false,
    });
    assert.equal(grpc.caseSensitive, true);
    assert.equal(grpc.fraction, 1);
    for (const [numerator, denominator] of [
      [25, "HUNDRED"],
      [2500, "TEN_THOUSAND"],
      [250_000, "MILLION"],
    ] as const) {
      const m = ok(
        convert({
          match: { prefix: "/", runtime_fraction: { default_value: { numerator, denominator } } },
        }),
      ).match;
      assert.equal(m.fraction, 0.25, denominator);
    }
  });
});

describe("xDS client conversion: virtual hosts and listeners", () => {
  const vh = (name: string, domains: string[]): EnvoyVirtualHost => ({
    name,
    domains,
    routes: [{ match: { prefix: "/" }, route: defaultAction }],
  });

  it("indexes exact domains in lower case and orders wildcards most specific first", () => {
    const t = ok(
      table([
        vh("any", ["*"]),
        vh("suffix", ["*.Example.com", "*.com"]),
        vh("prefix", ["foo.*", "foo.bar.*"]),
        vh("exact", ["API.example.com", "api.example.com:8080"]),
      ]),
    );
    assert.deepEqual([...t.byDomain.keys()], ["api.example.com", "api.example.com:8080"]);
    assert.deepEqual(
      t.wildcards.map((w) => w.pattern),
      ["*.example.com", "*.com", "foo.bar.*", "foo.*", "*"],
    );
    assert.equal(t.wildcards[0]?.host.name, "suffix");
  });

  it("rejects a domain in two virtual hosts, a wildcard in the middle, and no domains", () => {
    assert.equal(
      rejected(table([vh("a", ["x"]), vh("b", ["X"])])),
      "RouteConfiguration r: domain x appears in virtual hosts a and b",
    );
    assert.equal(
      rejected(table([vh("a", ["a*b"])])),
      "RouteConfiguration r: virtual host a: invalid wildcard domain a*b",
    );
    assert.equal(
      rejected(table([vh("a", [])])),
      "RouteConfiguration r: virtual host a has no domains",
    );
  });

  const hcm = (h: HttpConnectionManager) => ({
    name: "l",
    api_listener: {
      api_listener: {
        type_url: typeUrlOf("HttpConnectionManager"),
        value: codecs.HttpConnectionManager.serialize(h),
      },
    },
  });

  it("rejects listeners that are not API listeners with rds, or use an unknown filter", () => {
    const reject = (l: object) => rejected(convertListener(decoded(codecs.Listener, l)));
    assert.equal(reject({ name: "l" }), "Listener l: a server listener needs a socket address");
    assert.equal(
      reject(hcm({ route_config: { name: "inline" } })),
      "Listener l: HttpConnectionManager must use rds, not route_config",
    );
    assert.equal(
      reject(
        hcm({
          rds: { route_config_name: "r" },
          http_filters: [
            {
              name: "lua",
              typed_config: { type_url: "type.googleapis.com/x.Lua", value: Buffer.alloc(0) },
            },
          ],
        }),
      ),
      "Listener l: HTTP filter lua (type.googleapis.com/x.Lua) is not supported",
    );
    const optional = hcm({
      rds: { route_config_name: "r", config_source: { ads: {} } },
      http_filters: [
        {
          name: "lua",
          is_optional: true,
          typed_config: { type_url: "type.googleapis.com/x.Lua", value: Buffer.alloc(0) },
        },
      ],
    });
    assert.deepEqual(ok(convertListener(decoded(codecs.Listener, optional))), {
      kind: "api",
      name: "l",
      routeConfig: "r",
    });
  });
});
