import assert from "node:assert/strict";
import { compileRe2, translateRe2 } from "../../../mesh/xds-client/re2.js";
import { InvalidResource } from "../../../mesh/xds-client/proto-values.js";

describe("xDS client: RE2 patterns as JavaScript", () => {
  const matches: [pattern: string, yes: string[], no: string[]][] = [
    ["/api/v[0-9]+/.*", ["/api/v2/x"], ["/api/vx/", "x/api/v2/"]],
    ["a|b", ["a", "b"], ["ab"]],
    ["(?i)canary", ["CANARY", "Canary"], ["canary1"]],
    ["(?P<ver>v\\d+)", ["v12"], ["v"]],
    ["\\Aab\\z", ["ab"], ["abc"]],
    ["[[:digit:]]{3}", ["123"], ["12a"]],
    ["[]a]+", ["]a]"], ["b"]],
    ["a{", ["a{"], ["a"]],
    ["\\Q.*\\E", [".*"], ["ab"]],
    ["\\-\\:\\#", ["-:#"], ["a"]],
    ["\\pL+", ["héllo"], ["h3llo"]],
    ["\\p{Greek}+", ["αβ"], ["ab"]],
    ["\\x41\\x{42}", ["AB"], ["ab"]],
    ["(?s)a.b", ["a\nb"], ["ab"]],
  ];
  for (const [pattern, yes, no] of matches) {
    it(`${pattern} matches whole values as RE2 does`, () => {
      const re = compileRe2(pattern);
      for (const s of yes)
        assert.equal(re.test(s), true, `${pattern} should match ${JSON.stringify(s)}`);
      for (const s of no)
        assert.equal(re.test(s), false, `${pattern} should not match ${JSON.stringify(s)}`);
    });
  }

  const refused: [pattern: string, reason: RegExp][] = [
    ["a(?=b)", /lookaround/],
    ["(?<!a)b", /lookaround/],
    ["(a)\\1", /backreferences/],
    ["(?P=name)", /unsupported group/],
    ["a(?i)b", /leading/],
    ["(?U)a*", /unsupported group/],
    ["\\Z", /unsupported escape/],
    ["[[:^alpha:]]", /unsupported class/],
    ["(a", /regex "\(a"/],
    ["a**", /regex/],
    ["x".repeat(5000), /longer than/],
  ];
  for (const [pattern, reason] of refused) {
    it(`refuses ${pattern.slice(0, 20)}`, () => {
      assert.throws(
        () => compileRe2(pattern),
        (e: unknown) => e instanceof InvalidResource && reason.test(e.message),
      );
    });
  }

  it("keeps leading flags out of the source", () => {
    assert.deepEqual(translateRe2("(?im)x"), { source: "x", flags: "im" });
  });
});
