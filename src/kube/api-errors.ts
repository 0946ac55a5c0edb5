// What an API server's refusal says, for logs and command output: its own Status message rather
// than the client library's dump of code, body and headers.
import { ApiException } from "@kubernetes/client-node";
import { describeError } from "../common/errors.js";

/** The API server's own message (`... "x" not found`), or `HTTP <code>` when it sent no Status. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const m = (JSON.parse(String(err.body)) as { message?: unknown }).message;
      if (typeof m === "string") return m;
    } catch {
      // not a Status: fall through
    }
    return `HTTP ${String(err.code)}`;
  }
  return describeError(err);
}

/** The API server answered 404: the object, or the resource type itself, does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}
