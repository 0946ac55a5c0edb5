// A Logger that keeps its lines in memory, so tests assert what an operator would read.
import type { Logger } from "../../src/common/logger.js";

export interface LogLine {
  readonly level: "error" | "warn" | "info" | "debug";
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export function recordingLog(
  lines: LogLine[] = [],
  base: Record<string, unknown> = {},
): Logger & {
  readonly lines: LogLine[];
} {
  const at =
    (level: LogLine["level"]) =>
    (message: string, fields: Record<string, unknown> = {}): void => {
      lines.push({ level, message, fields: { ...base, ...fields } });
    };
  return {
    lines,
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    child: (fields) => recordingLog(lines, { ...base, ...fields }),
  };
}
