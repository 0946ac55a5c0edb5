// Path rewrites (prefix_rewrite, regex_rewrite) of a RouteAction or a RedirectAction.
import type { RegexMatchAndSubstitute__Output } from "../../src/xds/generated/envoy/type/matcher/v3/RegexMatchAndSubstitute.js";
import type { PathRewrite } from "../routing/model.js";
import { fail } from "./proto-values.js";
import { compileRe2Global } from "./re2.js";

const INVALID_PATH = /[\r\n\0]/u;

/**
 * RE2's rewrite string: `\0`-`\9` name a group (0 the whole match), `\\` is a backslash, and any
 * other escape, or a group the pattern does not have, is refused as RE2 refuses it.
 */
function substitution(s: string, groups: number, what: string): (string | number)[] {
  const parts: (string | number)[] = [];
  let text = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c !== "\\") {
      text += c;
      continue;
    }
    const next = s[++i] ?? "";
    if (next === "\\") {
      text += "\\";
    } else if (/^[0-9]$/u.test(next)) {
      const n = Number(next);
      if (n > groups) fail(`${what} substitution names group \\${next}; the pattern has ${groups}`);
      if (text !== "") parts.push(text);
      text = "";
      parts.push(n);
    } else {
      fail(`${what} substitution has an invalid escape \\${next}`);
    }
  }
  if (text !== "") parts.push(text);
  return parts;
}

export function regexRewrite(
  m: RegexMatchAndSubstitute__Output | null | undefined,
  what: string,
): PathRewrite {
  const pattern = m?.pattern ?? fail(`${what} has no pattern`);
  const sub = m?.substitution ?? "";
  if (INVALID_PATH.test(sub)) fail(`${what} substitution is not a valid path`);
  const { regex, groups } = compileRe2Global(pattern.regex);
  return { kind: "regex", pattern: regex, substitution: substitution(sub, groups, what) };
}

export function prefixRewrite(value: string, what: string): PathRewrite {
  if (INVALID_PATH.test(value)) fail(`${what} is not a valid path`);
  return { kind: "prefix", value };
}
