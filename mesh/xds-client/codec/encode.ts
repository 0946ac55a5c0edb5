// Protobuf encoding driven by the generated table, from the objects proto-loader accepts (field
// names as declared, enums by name or number, 64-bit integers as strings, numbers or bigints).
// The proxy encodes only its ADS requests; an Any is written as its own type_url and value.
import type { CodecTable, FieldSchema } from "./schema.js";

export class EncodeError extends Error {
  override readonly name = "EncodeError";
  readonly code = "XDS_ENCODE";
}

class Writer {
  private readonly chunks: Buffer[] = [];
  private bytes: number[] = [];

  varint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  uint32(n: number): void {
    let v = n >>> 0;
    while (v >= 0x80) {
      this.bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.bytes.push(v);
  }

  tag(field: number, wire: number): void {
    this.uint32(field * 8 + wire);
  }

  raw(b: Uint8Array): void {
    this.flush();
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }

  delimited(b: Uint8Array): void {
    this.uint32(b.byteLength);
    this.raw(b);
  }

  fixed(size: 4 | 8, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.raw(b);
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }

  private flush(): void {
    if (this.bytes.length === 0) return;
    this.chunks.push(Buffer.from(this.bytes));
    this.bytes = [];
  }
}

function toBigInt(v: unknown, what: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  throw new EncodeError(`${what}: ${String(v)} is not an integer`);
}

function toNumber(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new EncodeError(`${what}: ${String(v)} is not a number`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class TableEncoder {
  private readonly byName = new Map<string, number>();
  private readonly enumValues: (Map<string, number> | undefined)[] = [];

  constructor(private readonly table: CodecTable) {
    table.messages.forEach((m, i) => this.byName.set(m.name, i));
  }

  /** Encodes `value` as the message named `name` (full name). */
  encode(name: string, value: Record<string, unknown>): Buffer {
    const index = this.byName.get(name);
    if (index === undefined) throw new EncodeError(`message ${name} is not in the codec table`);
    return this.message(index, value, 0);
  }

  private message(index: number, value: Record<string, unknown>, depth: number): Buffer {
    const schema = this.table.messages[index];
    if (schema === undefined) throw new EncodeError(`codec table has no message ${index}`);
    if (depth > 100) throw new EncodeError("max depth exceeded");
    const w = new Writer();
    for (const f of schema.fields) {
      const [id, name, kind, ref, rule] = f;
      const v = value[name];
      if (v === undefined || v === null) continue;
      const what = `${schema.name}.${name}`;
      if (f[4] === 2) {
        if (!isObject(v)) throw new EncodeError(`${what} is not an object`);
        const keyKind = f[6];
        for (const [key, item] of Object.entries(v)) {
          const entry = new Writer();
          const k = keyKind === "bool" ? key === "true" : key;
          this.field(entry, [1, "key", keyKind, -1, 0, -1], k, what, depth);
          this.field(entry, [2, "value", kind, ref, 0, -1], item, what, depth);
          w.tag(id, 2);
          w.delimited(entry.finish());
        }
      } else if (rule === 1) {
        if (!Array.isArray(v)) throw new EncodeError(`${what} is not an array`);
        for (const item of v as unknown[]) this.field(w, f, item, what, depth);
      } else this.field(w, f, v, what, depth);
    }
    return w.finish();
  }

  private field(w: Writer, f: FieldSchema, v: unknown, what: string, depth: number): void {
    const [id, , kind, ref] = f;
    switch (kind) {
      case "string":
        if (typeof v !== "string") throw new EncodeError(`${what} is not a string`);
        w.tag(id, 2);
        w.delimited(Buffer.from(v, "utf8"));
        return;
      case "bytes":
        w.tag(id, 2);
        if (v instanceof Uint8Array) w.delimited(v);
        else if (typeof v === "string") w.delimited(Buffer.from(v, "base64"));
        else throw new EncodeError(`${what} is not bytes`);
        return;
      case "message":
        if (!isObject(v)) throw new EncodeError(`${what} is not an object`);
        w.tag(id, 2);
        w.delimited(this.message(ref, v, depth + 1));
        return;
      case "bool":
        w.tag(id, 0);
        w.uint32(v === true ? 1 : 0);
        return;
      case "enum":
        w.tag(id, 0);
        w.varint(BigInt(this.enumNumber(ref, v, what)));
        return;
      case "int32":
      case "uint32":
      case "sint32":
      case "int64":
      case "uint64":
      case "sint64":
        w.tag(id, 0);
        w.varint(this.varintOf(kind, v, what));
        return;
      case "fixed32":
      case "sfixed32":
      case "float":
        w.tag(id, 5);
        w.fixed(4, (b) => {
          if (kind === "float") b.writeFloatLE(toNumber(v, what));
          else if (kind === "fixed32") b.writeUInt32LE(toNumber(v, what) >>> 0);
          else b.writeInt32LE(toNumber(v, what) | 0);
        });
        return;
      case "fixed64":
      case "sfixed64":
      case "double":
        w.tag(id, 1);
        w.fixed(8, (b) => {
          if (kind === "double") b.writeDoubleLE(toNumber(v, what));
          else b.writeBigUInt64LE(BigInt.asUintN(64, toBigInt(v, what)));
        });
        return;
    }
  }

  private varintOf(
    kind: "int32" | "uint32" | "sint32" | "int64" | "uint64" | "sint64",
    v: unknown,
    what: string,
  ): bigint {
    const n = toBigInt(v, what);
    switch (kind) {
      case "sint32":
      case "sint64":
        return n >= 0n ? n << 1n : (-n << 1n) - 1n;
      case "int32":
        return BigInt(Number(n) | 0);
      case "uint32":
        return BigInt(Number(n) >>> 0);
      case "int64":
      case "uint64":
        return n;
    }
  }

  private enumNumber(ref: number, v: unknown, what: string): number {
    if (typeof v === "number" && Number.isInteger(v)) return v;
    let values = this.enumValues[ref];
    if (values === undefined) {
      const e = this.table.enums[ref];
      values = new Map(Object.entries(e?.names ?? {}).map(([n, name]) => [name, Number(n)]));
      this.enumValues[ref] = values;
    }
    const n = typeof v === "string" ? values.get(v) : undefined;
    if (n === undefined) throw new EncodeError(`${what}: unknown enum value ${String(v)}`);
    return n;
  }
}
