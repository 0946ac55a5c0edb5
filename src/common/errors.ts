// The error base class every component throws. Codes are stable strings that callers and tests
// switch on; the message names the object concerned so a log line stands on its own.

/** A reference to the Kubernetes object an error concerns, as in `Rollout demo/podinfo`. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export function formatRef(ref: ObjectRef): string {
  return ref.namespace === undefined
    ? `${ref.kind} ${ref.name}`
    : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

export interface VireoErrorOptions {
  readonly cause?: unknown;
  readonly object?: ObjectRef;
}

export class VireoError extends Error {
  override readonly name: string = "VireoError";
  readonly code: string;
  readonly object: ObjectRef | undefined;

  constructor(code: string, message: string, options: VireoErrorOptions = {}) {
    const prefix = options.object === undefined ? "" : `${formatRef(options.object)}: `;
    super(`${prefix}${message}`, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.object = options.object;
  }

  /** The message of this error followed by each cause's, outermost first. */
  chain(): string {
    const parts: string[] = [this.message];
    let cause: unknown = this.cause;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      parts.push(describeError(cause));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return parts.join(": ");
  }
}

/** A one-line description of anything thrown, for logs and status messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function isVireoError(err: unknown, code?: string): err is VireoError {
  return err instanceof VireoError && (code === undefined || err.code === code);
}
