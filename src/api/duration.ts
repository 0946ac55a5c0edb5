// Durations as the CRD writes them: Go's syntax restricted to the units ms, s, m and h, the same
// pattern the schema's CEL rule checks ("500ms", "30s", "1m30s", "1.5h").

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** 24 days: Node.js timers cannot wait longer than 2^31 - 1 ms (they would fire at once). */
export const MAX_DURATION_MS = 576 * 3_600_000;

export const DURATION_PATTERN = /^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/;
const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;

/** Milliseconds (rounded to a whole number), or undefined when `s` is not a duration. */
export function parseDuration(s: string): number | undefined {
  if (!DURATION_PATTERN.test(s)) return undefined;
  let ms = 0;
  for (const [, value, unit] of s.matchAll(TERM)) {
    ms += Number(value) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Math.round(ms);
}
