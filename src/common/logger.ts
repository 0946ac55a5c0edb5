// One logger factory for every component: JSON lines with a timestamp, level, message and the
// fields that say where the line came from (component, and the object's namespace/name).
import type { Writable } from "node:stream";
import winston from "winston";
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

export function createLogger(options: LoggerOptions): Logger {
  const clock = options.clock ?? systemClock;
  const stream = options.stream ?? process.stderr;
  const base = winston.createLogger({
    level: options.level ?? "info",
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.combine(
      winston.format((info) => {
        info.time = new Date(clock.now()).toISOString();
        return info;
      })(),
      winston.format.errors({ stack: false }),
      winston.format.json(),
    ),
    defaultMeta: { component: options.component },
    transports: [new winston.transports.Stream({ stream })],
  });
  return wrap(base);
}

/** Fields that place a log line on a Kubernetes object. */
export function objectFields(ref: ObjectRef): Record<string, string> {
  return ref.namespace === undefined
    ? { kind: ref.kind, name: ref.name }
    : { kind: ref.kind, namespace: ref.namespace, name: ref.name };
}

function wrap(w: winston.Logger): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      w.log(level, message, serializeFields(fields));
    };
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    child: (fields) => wrap(w.child(serializeFields(fields))),
  };
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
