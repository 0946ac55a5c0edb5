// RE2 patterns (Envoy's safe_regex) as JavaScript RegExps that match the whole value, as Envoy
// does. Constructs RE2 lacks and backtracking needs (lookarounds, backreferences) are rejected.
import { fail } from "./proto-values.js";

const MAX_PATTERN = 4096;

/** RE2's POSIX classes, usable inside a bracket expression. */
const POSIX: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const literal = (c: string): string => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;

interface Scan {
  readonly src: string;
  i: number;
  out: string;
}

/** One escape sequence starting after the backslash. */
function escape(s: Scan, inClass: boolean): void {
  const c = s.src[s.i];
  if (c === undefined) fail("trailing backslash");
  s.i++;
  if (/[1-9]/.test(c)) fail("backreferences are not supported (RE2)");
  if (!/[0-9A-Za-z]/.test(c)) {
    s.out += literal(c);
    return;
  }
  switch (c) {
    case "d":
    case "D":
    case "s":
    case "S":
    case "w":
    case "W":
    case "n":
    case "r":
    case "t":
    case "f":
    case "v":
      s.out += `\\${c}`;
      return;
    case "b":
    case "B":
      if (inClass) fail(`\\${c} inside a character class`);
      s.out += `\\${c}`;
      return;
    case "a":
      s.out += "\\x07";
      return;
    case "A":
    case "z":
      if (inClass) fail(`\\${c} inside a character class`);
      s.out += c === "A" ? "^" : "$";
      return;
    case "x":
      hexEscape(s);
      return;
    case "p":
    case "P":
      unicodeClass(s, c);
      return;
    case "Q": {
      const end = s.src.indexOf("\\E", s.i);
      const text = s.src.slice(s.i, end < 0 ? undefined : end);
      s.out += [...text].map(literal).join("");
      s.i = end < 0 ? s.src.length : end + 2;
      return;
    }
    default:
      fail(`unsupported escape \\${c}`);
  }
}

function hexEscape(s: Scan): void {
  const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(s.src.slice(s.i));
  const short = /^[0-9A-Fa-f]{2}/.exec(s.src.slice(s.i));
  if (braced?.[1] !== undefined) {
    s.out += `\\u{${braced[1]}}`;
    s.i += braced[0].length;
  } else if (short !== null) {
    s.out += `\\x${short[0]}`;
    s.i += 2;
  } else fail("invalid \\x escape");
}

function unicodeClass(s: Scan, c: string): void {
  const m = /^(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(s.src.slice(s.i));
  if (m === null) fail(`invalid \\${c} class`);
  s.i += m[0].length;
  const name = m[2] ?? m[3] ?? "";
  const negated = (m[1] === "^") !== (c === "P");
  // One- and two-letter names are general categories; longer ones are scripts in RE2.
  const prop = name.length <= 2 || name === "Any" ? name : `Script=${name}`;
  s.out += `\\${negated ? "P" : "p"}{${prop}}`;
}

function bracket(s: Scan): void {
  s.out += "[";
  s.i++;
  if (s.src[s.i] === "^") {
    s.out += "^";
    s.i++;
  }
  // RE2, like POSIX, takes a leading `]` literally; in JavaScript `[]` is an empty class.
  if (s.src[s.i] === "]") {
    s.out += "\\]";
    s.i++;
  }
  for (;;) {
    const c = s.src[s.i];
    if (c === undefined) fail("missing ] in character class");
    if (c === "]") {
      s.out += "]";
      s.i++;
      return;
    }
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(s.src.slice(s.i));
    if (posix !== null) {
      const set = POSIX[posix[2] ?? ""];
      if (set === undefined || posix[1] === "^") fail(`unsupported class ${posix[0]}`);
      s.out += set;
      s.i += posix[0].length;
    } else if (c === "\\") {
      s.i++;
      escape(s, true);
    } else {
      s.out += c === "[" ? "\\[" : c;
      s.i++;
    }
  }
}

/** A group opening `(`; returns flags set by a leading `(?i)`-style group. */
function group(s: Scan): string {
  const rest = s.src.slice(s.i);
  if (!rest.startsWith("(?")) {
    s.out += "(";
    s.i++;
    return "";
  }
  const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
  if (named !== null) {
    s.out += `(?<${named[1] ?? ""}>`;
    s.i += named[0].length;
    return "";
  }
  if (rest.startsWith("(?:")) {
    s.out += "(?:";
    s.i += 3;
    return "";
  }
  if (/^\(\?(?:[=!]|<[=!])/.test(rest)) fail("lookaround assertions are not supported (RE2)");
  const flags = /^\(\?([imsU]+)\)/.exec(rest);
  if (flags?.[1] !== undefined && s.i === 0 && !flags[1].includes("U")) {
    s.i += flags[0].length;
    return flags[1];
  }
  fail(`unsupported group ${rest.slice(0, 6)}… (flags only as a leading (?i), (?s) or (?m))`);
}

/** Translates RE2 syntax to a JavaScript source with the `u` flag, plus any leading flags. */
export function translateRe2(pattern: string): { source: string; flags: string } {
  if (pattern.length > MAX_PATTERN) fail(`regex longer than ${MAX_PATTERN} characters`);
  const s: Scan = { src: pattern, i: 0, out: "" };
  let flags = "";
  while (s.i < s.src.length) {
    const c = s.src[s.i] ?? "";
    if (c === "\\") {
      s.i++;
      escape(s, false);
    } else if (c === "[") {
      bracket(s);
    } else if (c === "(") {
      flags += group(s);
    } else if (c === "{" || c === "}") {
      // A brace that does not form a repetition is a literal in RE2 but an error with `u`.
      const rep = c === "{" ? /^\{\d+(?:,\d*)?\}/.exec(s.src.slice(s.i)) : null;
      s.out += rep !== null ? rep[0] : `\\${c}`;
      s.i += rep !== null ? rep[0].length : 1;
    } else {
      s.out += c;
      s.i++;
    }
  }
  return { source: s.out, flags: [...new Set(flags)].join("") };
}

/** An RE2 pattern as a RegExp matching whole values; throws InvalidResource when not usable. */
export function compileRe2(pattern: string): RegExp {
  try {
    const { source, flags } = translateRe2(pattern);
    return new RegExp(`^(?:${source})$`, `${flags}u`);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    fail(`regex ${JSON.stringify(pattern)}: ${reason}`);
  }
}

/** An RE2 pattern as a global RegExp finding every match, and its number of groups. */
export function compileRe2Global(pattern: string): { regex: RegExp; groups: number } {
  try {
    const { source, flags } = translateRe2(pattern);
    const regex = new RegExp(source, `${flags}gu`);
    // An alternative that matches the empty string shows the groups as undefined entries.
    const groups = (new RegExp(`${source}|`, `${flags}u`).exec("")?.length ?? 1) - 1;
    return { regex, groups };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    fail(`regex ${JSON.stringify(pattern)}: ${reason}`);
  }
}
