// spec.strategy on the wire to the domain's Strategy: the canary shorthands become explicit steps,
// A/B matches become the mesh's HttpMatch.
import type { CanaryStep, Strategy } from "../domain/rollout.js";
import type { HttpMatch, StringMatch } from "../xds/model.js";
import { ROLLOUT_DEFAULTS } from "./defaults.js";
import type { Field } from "./field.js";

const ITERATIONS = { min: 1, max: 1000 } as const;

export function readStrategy(f: Field): Strategy {
  const kind = f.object().exactlyOne(["canary", "abTesting", "blueGreen", "mirroring"] as const);
  const s = f.at(kind).object();
  switch (kind) {
    case "canary":
      return { kind, steps: readCanarySteps(s) };
    case "abTesting":
      return {
        kind,
        matches: s
          .at("match")
          .items({ min: 1, max: 16 })
          .map((m) => readMatch(m)),
        iterations: s.at("iterations").int(ITERATIONS),
      };
    case "blueGreen":
      return { kind, iterations: s.at("iterations").int(ITERATIONS) };
    case "mirroring":
      return {
        kind,
        mirrorPercent: s
          .at("mirrorPercent")
          .int({ min: 1, max: 100, default: ROLLOUT_DEFAULTS.mirrorPercent }),
        iterations: s.at("iterations").int(ITERATIONS),
      };
  }
}

function readCanarySteps(c: Field): CanaryStep[] {
  const form = c.exactlyOne(["steps", "stepWeight", "stepWeights"] as const);
  if (form !== "stepWeight" && c.has("maxWeight"))
    c.at("maxWeight").fail("applies only with stepWeight");
  switch (form) {
    case "steps":
      return readSteps(c.at("steps"));
    case "stepWeight": {
      const step = c.at("stepWeight").int({ min: 1, max: 100 });
      const max = c.at("maxWeight").int({ min: 1, max: 100, default: ROLLOUT_DEFAULTS.maxWeight });
      if (step > max) c.at("stepWeight").fail(`must not exceed maxWeight (${max}), got ${step}`);
      return linearWeights(step, max).map((weight) => ({ kind: "setWeight", weight }));
    }
    case "stepWeights": {
      const weights = c
        .at("stepWeights")
        .items({ min: 1, max: 64 })
        .map((w, i, all) => {
          const weight = w.int({ min: 1, max: 100 });
          const before = i === 0 ? undefined : all[i - 1]?.value;
          if (typeof before === "number" && weight <= before) {
            w.fail(`stepWeights must be strictly increasing, got ${before} then ${weight}`);
          }
          return weight;
        });
      return weights.map((weight) => ({ kind: "setWeight", weight }));
    }
  }
}

/**
 * stepWeight, 2 x stepWeight, ... capped at maxWeight, which is always the last step: 20 up to 50
 * gives 20, 40, 50. (Flagger gives 20, 40, 60: it adds a step while below maxWeight and so
 * overshoots it; a maxWeight is a promise about exposure, so we keep it.)
 */
export function linearWeights(step: number, max: number): number[] {
  const weights: number[] = [];
  for (let w = step; w < max; w += step) weights.push(w);
  weights.push(max);
  return weights;
}

function readSteps(list: Field): CanaryStep[] {
  let last: number | undefined;
  return list.items({ min: 1, max: 64 }).map((s): CanaryStep => {
    const kind = s.object().exactlyOne(["setWeight", "pause"] as const);
    if (kind === "pause") {
      const durationMs = s
        .at("pause")
        .object()
        .at("duration")
        .optional((d) => d.duration());
      return durationMs === undefined ? { kind } : { kind, durationMs };
    }
    const weight = s.at("setWeight").int({ min: 0, max: 100 });
    if (last !== undefined && weight < last) {
      s.at("setWeight").fail(
        `setWeight must not decrease from one step to the next, got ${last} then ${weight}`,
      );
    }
    last = weight;
    return { kind, weight };
  });
}

function readMatch(m: Field): HttpMatch {
  m.object();
  if (!m.has("headers") && !m.has("uri") && !m.has("queryParams")) {
    m.fail(
      "a match needs headers, uri or queryParams; an empty one would send every request to the canary",
    );
  }
  const uri = m.at("uri").optional((u) => readStringMatch(u));
  if (uri !== undefined && "present" in uri)
    m.at("uri").fail("uri cannot use present, every request has one");
  const headers = m.at("headers").optional((h) => readStringMatches(h, true));
  const queryParams = m.at("queryParams").optional((q) => readStringMatches(q, false));
  return {
    ...(headers === undefined ? {} : { headers }),
    ...(uri === undefined ? {} : { uri }),
    ...(queryParams === undefined ? {} : { queryParams }),
  };
}

/** Header names are case-insensitive: they are lowercased, as HTTP/2 and Envoy have them. */
function readStringMatches(map: Field, headerNames: boolean): Record<string, StringMatch> {
  const entries = map.entries();
  if (entries.length === 0) map.fail("must name at least one entry");
  const out: Record<string, StringMatch> = {};
  for (const [name, f] of entries) {
    const key = headerNames ? name.toLowerCase() : name;
    if (key in out) f.fail(`header ${key} is matched twice (header names ignore case)`);
    out[key] = readStringMatch(f);
  }
  return out;
}

function readStringMatch(f: Field): StringMatch {
  const kind = f.object().exactlyOne(["exact", "prefix", "suffix", "regex", "present"] as const);
  const v = f.at(kind);
  switch (kind) {
    case "exact":
      return { exact: v.string({ allowEmpty: true }) };
    case "prefix":
      return { prefix: v.string() };
    case "suffix":
      return { suffix: v.string() };
    case "regex": {
      const regex = v.string();
      const problem = regexProblem(regex);
      if (problem !== undefined) v.fail(problem, "InvalidMatch");
      return { regex };
    }
    case "present":
      if (v.value !== true) v.fail(`can only be true, got ${String(v.value)}`);
      return { present: true };
  }
}

/**
 * Why `re` is unusable, if it is. Routes reach Envoy and gRPC clients (RE2) and vireo's own proxy
 * (JavaScript), so a pattern must compile in JavaScript and avoid what RE2 lacks: lookaround and
 * backreferences.
 */
export function regexProblem(re: string): string | undefined {
  try {
    new RegExp(re);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return `${JSON.stringify(re)} is not a valid regular expression: ${why}`;
  }
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === "\\") {
      const next = re[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(next) || next === "k")) {
        return `${JSON.stringify(re)} uses a backreference, which RE2 (Envoy, gRPC) does not support`;
      }
      i++;
    } else if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
    } else if (c === "(" && /^\?<?[=!]/.test(re.slice(i + 1, i + 4))) {
      return `${JSON.stringify(re)} uses lookaround, which RE2 (Envoy, gRPC) does not support`;
    }
  }
  return undefined;
}
