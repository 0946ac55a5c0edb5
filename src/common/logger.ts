// One logger factory for every component: JSON lines with a timestamp, level, message and the
// fields that say where the line came from (component, and the object's namespace/name).
import type { Writable } from "node:stream";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { ObjectRef } from "./errors.js";
import { describeError, VireoError } from "./errors.js";

export type LogLevel = "error" | "warn" | "info" | "debug";
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` in addition to this one's. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly component: string;
  readonly level?: LogLevel;
  /** Where JSON lines go; standard error by default. */
  readonly stream?: Writable;
  readonly clock?: Clock;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  if (value === undefined || value === "") return fallback;
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (level === undefined) {
    throw new Error(`unknown log level "${value}"; expected one of ${LOG_LEVELS.join(", ")}`);
  }
  return level;
}

// A logger without winston: winston and its formats were 2-3 MB of every proxy's RSS
// (docs/benchmarks.md, "Issue 14: the proxy's memory"). Lines look as they did: keys sorted at
// every level, bigints as strings, a reference back to an enclosing object as "[Circular]".
export function createLogger(options: LoggerOptions): Logger {
  const clock = options.clock ?? systemClock;
  const stream = options.stream ?? process.stderr;
  const max = LOG_LEVELS.indexOf(options.level ?? "info");
  const write = (level: LogLevel, message: string, fields: Record<string, unknown>): void => {
    if (LOG_LEVELS.indexOf(level) > max) return;
    const line = { ...fields, level, message, time: new Date(clock.now()).toISOString() };
    stream.write(`${JSON.stringify(jsonSafe(line, []))}\n`);
  };
  return withFields(write, { component: options.component });
}

function withFields(
  write: (level: LogLevel, message: string, fields: Record<string, unknown>) => void,
  base: Record<string, unknown>,
): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      write(level, message, { ...base, ...serializeFields(fields) });
    };
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    child: (fields) => withFields(write, { ...base, ...serializeFields(fields) }),
  };
}

/**
 * `value` as JSON.stringify should see it: sorted keys, no cycles, bigints as strings. An object
 * with `toJSON` (a Date, a URL) as that gives it; others by their own enumerable keys (as winston
 * did, an Error below the top level is `{}`: serializeFields describes only the fields).
 */
function jsonSafe(value: unknown, ancestors: object[]): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.includes(value)) return "[Circular]";
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function")
    return jsonSafe((toJSON as (this: unknown) => unknown).call(value), ancestors);
  ancestors.push(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v: unknown) => jsonSafe(v, ancestors));
  } else {
    const o: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record).sort()) o[key] = jsonSafe(record[key], ancestors);
    out = o;
  }
  ancestors.pop();
  return out;
}

/** Fields that place a log line on a Kubernetes object. */
export function objectFields(ref: ObjectRef): Record<string, string> {
  return ref.namespace === undefined
    ? { kind: ref.kind, name: ref.name }
    : { kind: ref.kind, namespace: ref.namespace, name: ref.name };
}

// Errors have no enumerable fields, so JSON would print `{}`; log their code and message chain.
function serializeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (fields === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { message: describeError(err) };
  if (err instanceof VireoError) {
    out.code = err.code;
    out.message = err.chain();
  }
  return out;
}
