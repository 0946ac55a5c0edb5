// Reading decoded Envoy values (durations, wrappers, percentages, packed messages) and the one
// exception conversion uses internally; it never leaves convert*.ts (callers get result values).
import type { AnyExtension } from "@grpc/proto-loader";
import type { ConfigSource__Output } from "../../src/xds/generated/envoy/config/core/v3/ConfigSource.js";
import type { FractionalPercent__Output } from "../../src/xds/generated/envoy/type/v3/FractionalPercent.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type { Duration__Output } from "../../src/xds/generated/google/protobuf/Duration.js";

/** Thrown inside a conversion; the resource's converter turns it into a rejection message. */
export class InvalidResource extends Error {
  override readonly name = "InvalidResource";
}

export function fail(message: string): never {
  throw new InvalidResource(message);
}

export type ConvertResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Runs `convert`, naming the resource in any rejection: `RouteConfiguration r: <problem>`. */
export function guarded<T>(label: string, convert: () => T): ConvertResult<T> {
  try {
    return { ok: true, value: convert() };
  } catch (err) {
    const problem = err instanceof Error ? err.message : String(err);
    const prefix = err instanceof InvalidResource ? "" : "internal error: ";
    return { ok: false, message: `${label}: ${prefix}${problem}` };
  }
}

/** A protobuf Duration in whole milliseconds (rounded up); undefined when unset. */
export function durationMs(
  d: Duration__Output | null | undefined,
  what: string,
): number | undefined {
  if (d === null || d === undefined) return undefined;
  const seconds = Number(d.seconds);
  if (!Number.isFinite(seconds) || seconds < 0 || d.nanos < 0 || d.nanos >= 1e9)
    fail(`${what} is not a valid non-negative duration`);
  return seconds * 1000 + Math.ceil(d.nanos / 1e6);
}

export function u32(w: { readonly value: number } | null | undefined, fallback: number): number {
  return w === null || w === undefined ? fallback : w.value;
}

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};

/** A FractionalPercent as 0..1; a numerator above its denominator counts as all (Envoy). */
export function fraction(
  p: FractionalPercent__Output | null | undefined,
  fallback: number,
): number {
  if (p === null || p === undefined) return fallback;
  const d = DENOMINATORS[p.denominator];
  if (d === undefined) fail(`unknown FractionalPercent denominator ${p.denominator}`);
  return Math.min(1, p.numerator / d);
}

function isDecoded(a: Any__Output): a is AnyExtension {
  return "@type" in a;
}

/** The type URL of a packed message, whether the codec decoded it or left it as bytes. */
export function anyTypeUrl(a: Any__Output): string {
  return isDecoded(a) ? a["@type"] : a.type_url;
}

/** The bytes of a message the codec could not decode (its type is not in codec/'s table). */
export function anyBytes(a: Any__Output): Buffer | undefined {
  return isDecoded(a) ? undefined : a.value;
}

/**
 * A packed message of the expected type, decoded in proto-loader's shape (`json: true` unpacks every
 * Any whose type is loaded, with defaults). Callers cast it to the generated `__Output` type of
 * `typeUrl`: that cast is the boundary, and the type URL was checked here.
 */
export function unpack(a: Any__Output | null | undefined, typeUrl: string, what: string): unknown {
  if (a === null || a === undefined) fail(`${what} is missing`);
  const type = anyTypeUrl(a);
  if (type !== typeUrl) fail(`${what} has type ${type}, expected ${typeUrl}`);
  if (!isDecoded(a)) fail(`${what} of type ${type} could not be decoded`);
  return a;
}

/** Lower case, as Envoy compares host names and header names. */
export function lower(s: string): string {
  return s.toLowerCase();
}

/** Only resources from the same ADS stream can be followed. */
export function checkAdsSource(s: ConfigSource__Output | null, what: string): void {
  const specifier = s?.config_source_specifier;
  if (specifier !== undefined && specifier !== "ads" && specifier !== "self")
    fail(`${what} must come over ADS, not ${specifier}`);
}
