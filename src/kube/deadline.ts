// A bound on one API call: the client has no timeout of its own, and a request the API server
// never answers (a frozen server, a half-open connection) would otherwise hold its caller forever.
import type { Clock } from "../common/clock.js";

/** `attempt`, or a failure once `ms` passed without its answer (the request is left to end). */
export async function withDeadline<T>(attempt: Promise<T>, ms: number, clock: Clock): Promise<T> {
  const timer = new AbortController();
  const late = clock.sleep(ms, timer.signal).then(() => {
    throw new Error(`no answer from the API server within ${String(ms)} ms`);
  });
  try {
    return await Promise.race([attempt, late]);
  } finally {
    timer.abort();
    late.catch(() => undefined);
    attempt.catch(() => undefined);
  }
}
