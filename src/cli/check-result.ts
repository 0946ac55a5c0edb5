// One line of `vireo check`: a named check that passed, failed or warns, and what it found.
import { ApiException } from "@kubernetes/client-node";
import { describeError } from "../common/errors.js";

/** The API server's own message (`... "x" not found`) rather than the client's dump. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const m = (JSON.parse(String(err.body)) as { message?: string }).message;
      if (m !== undefined) return m;
    } catch {
      // not a Status: fall through
    }
    return `HTTP ${String(err.code)}`;
  }
  return describeError(err);
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** ok, but worth acting on (shown with ‼, exit code 0). */
  readonly warning?: boolean;
}

/** Runs one check; what it throws becomes the failure line. */
export async function one(name: string, f: () => Promise<string>): Promise<CheckResult> {
  try {
    return { name, ok: true, detail: await f() };
  } catch (err) {
    return { name, ok: false, detail: apiMessage(err) };
  }
}
