// Small Envoy/protobuf values every translator needs: durations, percentages, config sources.
import type { ConfigSource } from "../generated/envoy/config/core/v3/ConfigSource.js";
import type { FractionalPercent } from "../generated/envoy/type/v3/FractionalPercent.js";
import type { Any } from "../generated/google/protobuf/Any.js";
import type { Duration } from "../generated/google/protobuf/Duration.js";

/** Resources reference each other through the same ADS stream they arrived on. */
export const ADS: ConfigSource = { ads: {}, resource_api_version: "V3" };

/** Whole milliseconds as a protobuf Duration; negative or non-finite values become 0. */
export function duration(ms: number): Duration {
  const whole = Number.isFinite(ms) && ms > 0 ? Math.round(ms) : 0;
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}

/** A percentage clamped to 0..100 (NaN counts as 0). */
export function clampPercent(p: number): number {
  if (Number.isNaN(p)) return 0;
  return Math.min(100, Math.max(0, p));
}

/** An integer weight in 0..100, so split routes always sum to exactly 100. */
export function weightPercent(p: number): number {
  return Math.round(clampPercent(p));
}

/**
 * A percentage as Envoy's FractionalPercent: whole percents over HUNDRED, fractional ones (Istio
 * allows 0.1 %) over MILLION, as istiod does.
 */
export function fraction(p: number): FractionalPercent {
  const c = clampPercent(p);
  if (Number.isInteger(c)) return { numerator: c, denominator: "HUNDRED" };
  return { numerator: Math.round(c * 10_000), denominator: "MILLION" };
}

export function packAny(typeUrl: string, value: Buffer): Any {
  return { type_url: typeUrl, value };
}

/** Lexicographic comparison for deterministic sorts. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
