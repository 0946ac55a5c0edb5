// Conversion of what HTTPRoute filters become in RDS: header mutations at each level, prefix and
// Host rewrites, redirects and direct responses, and what stays refused.
import assert from "node:assert/strict";
import type { HeaderValueOption } from "../../../src/xds/generated/envoy/config/core/v3/HeaderValueOption.js";
import type { Route as EnvoyRoute } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import {
  convert,
  convertAny,
  defaultAction,
  ok,
  packFault,
  rejected,
  table,
} from "./xds-client-convert-helpers.js";

const hv = (key: string, value: string, more: Partial<HeaderValueOption> = {}) => ({
  header: { key, value },
  ...more,
});

describe("xDS client conversion: header mutations", () => {
  it("a route without mutations or rewrites has no edits at all", () => {
    assert.equal(ok(convert({})).edits, undefined);
  });

  it("each append_action, the deprecated append bool, keep_empty_value and %% escapes", () => {
    const edits = ok(
      convert({
        request_headers_to_add: [
          hv("X-A", "1"),
          hv("x-b", "2", { append_action: "ADD_IF_ABSENT" }),
          hv("x-c", "3", { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }),
          hv("x-d", "4", { append_action: "OVERWRITE_IF_EXISTS" }),
          hv("x-e", "5", { append: { value: false } }),
          hv("x-f", "6", { append: { value: true } }),
          hv("x-empty", ""),
          hv("x-kept", "", { keep_empty_value: true }),
          hv("x-pct", "100%% sure"),
        ],
        request_headers_to_remove: ["X-Gone"],
      }),
    ).edits;
    assert.deepEqual(edits, {
      request: [
        {
          remove: ["x-gone"],
          add: [
            { name: "x-a", value: "1", action: "append" },
            { name: "x-b", value: "2", action: "add-if-absent" },
            { name: "x-c", value: "3", action: "overwrite" },
            { name: "x-d", value: "4", action: "overwrite-if-exists" },
            { name: "x-e", value: "5", action: "overwrite" },
            { name: "x-f", value: "6", action: "append" },
            { name: "x-kept", value: "", action: "append" },
            { name: "x-pct", value: "100% sure", action: "append" },
          ],
        },
      ],
      response: [],
    });
  });

  it("levels: the route's first, then the virtual host's, then the configuration's", () => {
    const level = (v: string) => ({
      request_headers_to_add: [hv("x-level", v, { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" })],
      response_headers_to_remove: [`x-${v}`],
    });
    const t = ok(
      table(
        [
          {
            name: "vh",
            domains: ["*"],
            routes: [
              { name: "x", match: { prefix: "/" }, route: defaultAction, ...level("route") },
            ],
            ...level("vhost"),
          },
        ],
        level("config"),
      ),
    );
    const r = t.virtualHosts[0]?.routes[0];
    assert.ok(r?.kind === "forward");
    assert.deepEqual(
      r.edits?.request.map((l) => l.add[0]?.value),
      ["route", "vhost", "config"],
    );
    assert.deepEqual(
      r.edits?.response.map((l) => l.remove[0]),
      ["x-route", "x-vhost", "x-config"],
    );
    const reversed = ok(
      convert(level("route"), level("vhost"), {
        ...level("config"),
        most_specific_header_mutations_wins: true,
      }),
    );
    assert.deepEqual(
      reversed.edits?.request.map((l) => l.add[0]?.value),
      ["config", "vhost", "route"],
    );
  });

  it("a virtual host's mutations reach routes that set none", () => {
    const r = ok(convert({}, { response_headers_to_add: [hv("x-vh", "1")] }));
    assert.deepEqual(r.edits, {
      request: [],
      response: [{ remove: [], add: [{ name: "x-vh", value: "1", action: "append" }] }],
    });
  });

  const rejections: [string, EnvoyRoute, string][] = [
    [
      "a pseudo-header",
      { request_headers_to_add: [hv(":path", "/x")] },
      "RouteConfiguration r: route: header :path may not be modified (virtual host vh, route x)",
    ],
    [
      "removing Host",
      { request_headers_to_remove: ["Host"] },
      "RouteConfiguration r: route: header Host may not be modified (virtual host vh, route x)",
    ],
    [
      "a formatter",
      { response_headers_to_add: [hv("x-ip", "%DOWNSTREAM_REMOTE_ADDRESS%")] },
      "RouteConfiguration r: route: header x-ip: value formatters (%…%) are not supported (virtual host vh, route x)",
    ],
    [
      "append beside append_action",
      {
        request_headers_to_add: [
          hv("x-a", "1", { append: { value: true }, append_action: "ADD_IF_ABSENT" }),
        ],
      },
      "RouteConfiguration r: route: header x-a: both append and append_action are set (virtual host vh, route x)",
    ],
  ];
  for (const [what, route, message] of rejections) {
    it(`rejects ${what}`, () => {
      assert.equal(rejected(convertAny(route)), message);
    });
  }

  it("rejects a virtual host level mutation it cannot apply, naming the virtual host", () => {
    assert.equal(
      rejected(convert({}, { request_headers_to_remove: [":authority"] })),
      "RouteConfiguration r: virtual host vh: header :authority may not be modified",
    );
  });
});

describe("xDS client conversion: rewrites", () => {
  it("prefix_rewrite and host_rewrite_literal", () => {
    assert.deepEqual(
      ok(
        convert({
          route: { ...defaultAction, prefix_rewrite: "/v2/", host_rewrite_literal: "b.example:81" },
        }),
      ).edits,
      {
        request: [],
        response: [],
        path: { kind: "prefix", value: "/v2/" },
        hostRewrite: "b.example:81",
      },
    );
  });

  it("regex_rewrite: RE2's substitution, with groups by number and \\\\ for a backslash", () => {
    const path = ok(
      convert({
        route: {
          ...defaultAction,
          regex_rewrite: {
            pattern: { regex: "^/svc/([^/]+)(/.*)$" },
            substitution: "\\2/i\\\\/\\1",
          },
        },
      }),
    ).edits?.path;
    assert.ok(path?.kind === "regex");
    assert.deepEqual(path.substitution, [2, "/i\\/", 1]);
  });

  const bad: [string, object, string][] = [
    [
      "a group the pattern lacks",
      { regex_rewrite: { pattern: { regex: "/(a)" }, substitution: "\\2" } },
      "regex_rewrite substitution names group \\2; the pattern has 1",
    ],
    [
      "an escape RE2 refuses",
      { regex_rewrite: { pattern: { regex: "/a" }, substitution: "\\n" } },
      "regex_rewrite substitution has an invalid escape \\n",
    ],
    [
      "a pattern RE2 refuses",
      { regex_rewrite: { pattern: { regex: "(?=a)" }, substitution: "" } },
      'regex "(?=a)": lookaround assertions are not supported (RE2)',
    ],
    [
      "both prefix_rewrite and regex_rewrite",
      { prefix_rewrite: "/", regex_rewrite: { pattern: { regex: "a" }, substitution: "b" } },
      "only one of prefix_rewrite and regex_rewrite may be set",
    ],
  ];
  for (const [what, action, message] of bad) {
    it(`rejects a rewrite with ${what}`, () => {
      assert.equal(
        rejected(convert({ route: { ...defaultAction, ...action } })),
        `RouteConfiguration r: ${message} (virtual host vh, route x)`,
      );
    });
  }

  it("rejects a Host rewrite that is not an authority, and append_x_forwarded_host", () => {
    assert.equal(
      rejected(convert({ route: { ...defaultAction, host_rewrite_literal: "a/b" } })),
      'RouteConfiguration r: host_rewrite_literal "a/b" is not a valid authority (virtual host vh, route x)',
    );
    assert.equal(
      rejected(
        convert({
          route: { ...defaultAction, host_rewrite_literal: "a", append_x_forwarded_host: true },
        }),
      ),
      "RouteConfiguration r: append_x_forwarded_host not supported (virtual host vh, route x)",
    );
  });
});

describe("xDS client conversion: redirects and direct responses", () => {
  const local = (r: EnvoyRoute, rc = {}) => {
    const v = ok(convertAny({ route: null, ...r }, {}, rc));
    assert.ok(v.kind === "local");
    return v;
  };

  it("a redirect's fields, Envoy's 301 by default", () => {
    assert.deepEqual(local({ redirect: {} }).reply, {
      kind: "redirect",
      status: 301,
      port: 0,
      stripQuery: false,
    });
    assert.deepEqual(
      local({
        redirect: {
          scheme_redirect: "https",
          host_redirect: "b.example",
          port_redirect: 8443,
          path_redirect: "/new",
          strip_query: true,
          response_code: "PERMANENT_REDIRECT",
        },
      }).reply,
      {
        kind: "redirect",
        status: 308,
        scheme: "https",
        host: "b.example",
        port: 8443,
        path: { kind: "path", value: "/new" },
        stripQuery: true,
      },
    );
    const codes = ["FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT"] as const;
    assert.deepEqual(
      codes.map((c) => local({ redirect: { response_code: c } }).reply.status),
      [302, 303, 307],
    );
    const https = local({ redirect: { https_redirect: true, prefix_rewrite: "/p/" } }).reply;
    assert.deepEqual(https, {
      kind: "redirect",
      status: 301,
      scheme: "https",
      port: 0,
      path: { kind: "prefix", value: "/p/" },
      stripQuery: false,
    });
  });

  it("a direct response with and without a body, and the response header levels", () => {
    const d = local(
      {
        direct_response: { status: 500, body: { inline_string: "no backend" } },
        response_headers_to_add: [hv("x-why", "invalid")],
      },
      { response_headers_to_add: [hv("x-rc", "1")] },
    );
    assert.deepEqual(d.reply, { kind: "direct", status: 500, body: "no backend" });
    assert.deepEqual(
      d.response.map((l) => l.add[0]?.name),
      ["x-why", "x-rc"],
    );
    assert.deepEqual(local({ direct_response: { status: 204 } }).reply, {
      kind: "direct",
      status: 204,
      body: "",
    });
  });

  const rejections: [string, EnvoyRoute, object, string][] = [
    [
      "a status outside 200-599",
      { direct_response: { status: 100 } },
      {},
      "direct_response status 100 is outside 200-599",
    ],
    [
      "a body from a file",
      { direct_response: { status: 200, body: { filename: "/etc/passwd" } } },
      {},
      "direct_response body filename is not supported",
    ],
    [
      "a body over the configuration's cap",
      { direct_response: { status: 200, body: { inline_string: "12345" } } },
      { max_direct_response_body_size_bytes: { value: 4 } },
      "direct_response body is 5 bytes, over max_direct_response_body_size_bytes 4",
    ],
    [
      "a fault on a redirect",
      {
        redirect: {},
        typed_per_filter_config: packFault({
          abort: { http_status: 503, percentage: { numerator: 1 } },
        }),
      },
      {},
      "fault injection on a redirect route is not supported",
    ],
  ];
  for (const [what, route, rc, message] of rejections) {
    it(`rejects ${what}`, () => {
      assert.equal(
        rejected(convertAny({ route: null, ...route }, {}, rc)),
        `RouteConfiguration r: ${message} (virtual host vh, route x)`,
      );
    });
  }
});
