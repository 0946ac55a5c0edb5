import assert from "node:assert/strict";
import type { RouteMatch } from "../../../src/xds/generated/envoy/config/route/v3/RouteMatch.js";
import type { HttpMatch } from "../../../src/xds/model.js";
import { escapeRegex, routeMatch } from "../../../src/xds/translate/matches.js";

const re = (regex: string) => ({ google_re2: {}, regex });

const cases: { name: string; match: HttpMatch | undefined; want: RouteMatch }[] = [
  { name: "no match: every path", match: undefined, want: { prefix: "/" } },
  { name: "empty match: every path", match: {}, want: { prefix: "/" } },
  { name: "uri exact -> path", match: { uri: { exact: "/api" } }, want: { path: "/api" } },
  { name: "uri prefix -> prefix", match: { uri: { prefix: "/api/" } }, want: { prefix: "/api/" } },
  {
    name: "uri regex -> safe_regex",
    match: { uri: { regex: "^/.*/UnaryCall$" } },
    want: { safe_regex: re("^/.*/UnaryCall$") },
  },
  {
    name: "uri suffix -> escaped regex",
    match: { uri: { suffix: ".json" } },
    want: { safe_regex: re(".*\\.json") },
  },
  { name: "uri present -> every path", match: { uri: { present: true } }, want: { prefix: "/" } },
  {
    name: "headers, sorted by name, in the per-kind fields C-core 1.51 needs",
    match: {
      headers: {
        "x-user": { prefix: "beta-" },
        "x-canary": { exact: "always" },
        "x-trace": { present: true },
        "x-zone": { suffix: "-a" },
        "x-id": { regex: "[0-9]+" },
      },
    },
    want: {
      prefix: "/",
      headers: [
        { name: "x-canary", exact_match: "always" },
        { name: "x-id", safe_regex_match: re("[0-9]+") },
        { name: "x-trace", present_match: true },
        { name: "x-user", prefix_match: "beta-" },
        { name: "x-zone", suffix_match: "-a" },
      ],
    },
  },
  {
    name: "query parameters",
    match: { queryParams: { v: { exact: "2" }, debug: { present: true } } },
    want: {
      prefix: "/",
      query_parameters: [
        { name: "debug", present_match: true },
        { name: "v", string_match: { exact: "2" } },
      ],
    },
  },
  {
    name: "all three together",
    match: {
      uri: { prefix: "/grpc.testing.TestService/" },
      headers: { "x-canary": { exact: "1" } },
      queryParams: { v: { regex: "\\d+" } },
    },
    want: {
      prefix: "/grpc.testing.TestService/",
      headers: [{ name: "x-canary", exact_match: "1" }],
      query_parameters: [{ name: "v", string_match: { safe_regex: re("\\d+") } }],
    },
  },
];

describe("xDS translation: request matches", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(routeMatch(c.match), c.want);
    });
  }

  it("escapes every RE2 metacharacter", () => {
    const special = "a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o";
    const escaped = escapeRegex(special);
    assert.equal(escaped, "a\\.b\\*c\\+d\\?e\\(f\\)g\\[h\\]i\\{j\\}k\\|l\\^m\\$n\\\\o");
    assert.ok(new RegExp(`^${escaped}$`).test(special));
  });
});
