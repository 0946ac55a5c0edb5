// A cursor over untrusted JSON that knows its path, so each reader can say exactly where and why a
// value is unusable ("spec.strategy.canary.steps[2].setWeight: must be an integer from 0 to 100,
// got 120"). Readers throw WireError; parse.ts catches it at the boundary and returns it as a value.
import { MAX_DURATION_MS, parseDuration } from "./duration.js";

export type ParseFailureReason =
  /** Shape, type or range: what the CRD schema also refuses. */
  | "InvalidSpec"
  /** A promotion window whose cron expression does not parse. */
  | "InvalidSchedule"
  /** A match regex that vireo's proxies and other xDS clients cannot all compile. */
  | "InvalidMatch";

export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly reason: ParseFailureReason,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

interface Range {
  readonly min?: number;
  readonly max?: number;
}

export function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : String(v);
}

function rangeText(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) return ` from ${r.min} to ${r.max}`;
  if (r.min !== undefined) return ` of at least ${r.min}`;
  if (r.max !== undefined) return ` of at most ${r.max}`;
  return "";
}

export class Field {
  private constructor(
    readonly value: unknown,
    readonly path: string,
  ) {}

  static root(value: unknown): Field {
    return new Field(value, "");
  }

  /** Missing or null: the reader's default applies. */
  get absent(): boolean {
    return this.value === undefined || this.value === null;
  }

  /** The member `key` (absent when this is not an object). */
  at(key: string): Field {
    const v = isRecord(this.value) ? this.value[key] : undefined;
    return new Field(v, this.path === "" ? key : `${this.path}.${key}`);
  }

  has(key: string): boolean {
    return !this.at(key).absent;
  }

  fail(problem: string, reason: ParseFailureReason = "InvalidSpec"): never {
    throw new WireError(reason, this.path, problem);
  }

  /** Undefined when absent, otherwise what `read` makes of it. */
  optional<T>(read: (f: Field) => T): T | undefined {
    return this.absent ? undefined : read(this);
  }

  object(): this {
    if (this.absent) this.fail("required");
    if (!isRecord(this.value)) this.fail(`must be an object, got ${show(this.value)}`);
    return this;
  }

  /** The elements of a list; absent is the empty list. */
  items(limits: Range = {}): Field[] {
    if (this.absent) {
      if (limits.min !== undefined && limits.min > 0) this.fail("required");
      return [];
    }
    if (!Array.isArray(this.value)) this.fail(`must be a list, got ${show(this.value)}`);
    const list: readonly unknown[] = this.value;
    if (
      (limits.min !== undefined && list.length < limits.min) ||
      (limits.max !== undefined && list.length > limits.max)
    ) {
      this.fail(`must have${rangeText(limits)} entries, got ${list.length}`);
    }
    return list.map((v, i) => new Field(v, `${this.path}[${i}]`));
  }

  /** The members of a map (paths as the API server writes them: `headers[x-user]`). */
  entries(): [string, Field][] {
    if (this.absent) return [];
    const map = this.value;
    if (!isRecord(map)) this.fail(`must be an object, got ${show(map)}`);
    return Object.keys(map).map((k) => [k, new Field(map[k], `${this.path}[${k}]`)]);
  }

  /** A map of strings to strings; absent is undefined. */
  stringMap(): Readonly<Record<string, string>> | undefined {
    if (this.absent) return undefined;
    return Object.fromEntries(this.entries().map(([k, f]) => [k, f.string({ allowEmpty: true })]));
  }

  string(opts: { readonly default?: string; readonly allowEmpty?: boolean } = {}): string {
    if (this.absent) return opts.default ?? this.fail("required");
    if (typeof this.value !== "string") this.fail(`must be a string, got ${show(this.value)}`);
    if (this.value === "" && opts.allowEmpty !== true) this.fail("must not be empty");
    return this.value;
  }

  int(r: Range & { readonly default?: number } = {}): number {
    if (this.absent) return r.default ?? this.fail("required");
    const v = this.value;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.fail(`must be an integer${rangeText(r)}, got ${show(v)}`);
    }
    if ((r.min !== undefined && v < r.min) || (r.max !== undefined && v > r.max)) {
      this.fail(`must be an integer${rangeText(r)}, got ${v}`);
    }
    return v;
  }

  number(r: Range = {}): number {
    if (this.absent) this.fail("required");
    const v = this.value;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.fail(`must be a number${rangeText(r)}, got ${show(v)}`);
    }
    if ((r.min !== undefined && v < r.min) || (r.max !== undefined && v > r.max)) {
      this.fail(`must be a number${rangeText(r)}, got ${v}`);
    }
    return v;
  }

  bool(def: boolean): boolean {
    if (this.absent) return def;
    if (typeof this.value !== "boolean")
      this.fail(`must be true or false, got ${show(this.value)}`);
    return this.value;
  }

  oneOf<T extends string>(values: readonly T[], def?: T): T {
    if (this.absent) return def ?? this.fail("required");
    const v = this.value;
    const found = values.find((x) => x === v);
    if (found === undefined) this.fail(`must be one of ${values.join(", ")}, got ${show(v)}`);
    return found;
  }

  /** Milliseconds, at most MAX_DURATION_MS. */
  duration(def?: string): number {
    const s = this.string({ default: def });
    const ms = parseDuration(s);
    if (ms === undefined) {
      this.fail(
        `${JSON.stringify(s)} is not a duration: write numbers with units ms, s, m or h, e.g. 500ms, 30s or 1m30s`,
      );
    }
    if (ms > MAX_DURATION_MS) this.fail(`must be at most 576h (24 days), got ${s}`);
    return ms;
  }

  /** Which of `keys` is set, failing unless exactly one is. */
  exactlyOne<K extends string>(keys: readonly K[]): K {
    const set = keys.filter((k) => this.has(k));
    const [only] = set;
    if (set.length !== 1 || only === undefined) {
      const found = set.length === 0 ? "none is set" : `found ${set.join(" and ")}`;
      this.fail(`set exactly one of ${keys.join(", ")}; ${found}`);
    }
    return only;
  }
}

/** The entries of a list of named objects, refusing a name used twice. */
export function uniqueNames(list: Field, what: string, max: number): Field[] {
  const seen = new Set<string>();
  const items = list.items({ max });
  for (const item of items) {
    const name = item.object().at("name").string();
    if (seen.has(name)) item.at("name").fail(`${what} names must be unique, ${name} is used twice`);
    seen.add(name);
  }
  return items;
}

export function readObjectRef(r: Field): { readonly name: string; readonly namespace?: string } {
  const namespace = r
    .object()
    .at("namespace")
    .optional((n) => n.string());
  return { name: r.at("name").string(), ...(namespace === undefined ? {} : { namespace }) };
}
