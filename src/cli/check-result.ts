// One line of `vireo check`: a named check that passed, failed or warns, and what it found.
import { apiMessage } from "../kube/api-errors.js";

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
