// Protobuf decoding driven by the generated table, into exactly the objects proto-loader gives
// with vireo's loader options (keepCase, longs and enums as strings, defaults, oneofs, json): the
// converters were written against that shape, and test/unit/mesh/xds-codec.test.ts holds the two
// equal on resources the control plane encodes. Runs per xDS response, never per request.
import type { CodecTable, FieldKind, FieldSchema, MessageSchema } from "./schema.js";

/** protobufjs's (and protoc's) nesting limit. */
const MAX_DEPTH = 100;
const ANY = "google.protobuf.Any";
const DEFAULT_TYPE_URL_PREFIX = "type.googleapis.com/";

export class DecodeError extends Error {
  override readonly name = "DecodeError";
  readonly code = "XDS_DECODE";
}

type Obj = Record<string, unknown>;

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new DecodeError("truncated message");
    return this.buf[this.pos++] ?? 0;
  }

  /** A varint of up to 64 bits. */
  varint64(): bigint {
    let n = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, n);
    }
    throw new DecodeError("varint longer than 10 bytes");
  }

  /** A varint as its low 32 bits, unsigned (fast path for tags, lengths and 32-bit fields). */
  uint32(): number {
    let n = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.byte();
      n |= (b & 0x7f) << shift;
      if (b < 0x80) return n >>> 0;
    }
    const b = this.byte();
    n |= (b & 0x0f) << 28;
    // Higher bits of a 64-bit varint are dropped, as protobufjs does for 32-bit fields.
    for (let last = b; last >= 0x80;) last = this.byte();
    return n >>> 0;
  }

  take(n: number): number {
    const start = this.pos;
    if (n < 0 || start + n > this.end) throw new DecodeError("truncated message");
    this.pos += n;
    return start;
  }

  skip(wire: number, depth: number): void {
    switch (wire) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.take(8);
        return;
      case 2:
        this.take(this.uint32());
        return;
      case 5:
        this.take(4);
        return;
      case 3:
        if (depth > MAX_DEPTH) throw new DecodeError("max depth exceeded");
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7, depth + 1);
        }
      default:
        throw new DecodeError(`invalid wire type ${wire}`);
    }
  }
}

/** The wire type a singular value of each kind is encoded with. */
function wireOf(kind: FieldKind): number {
  switch (kind) {
    case "double":
    case "fixed64":
    case "sfixed64":
      return 1;
    case "float":
    case "fixed32":
    case "sfixed32":
      return 5;
    case "string":
    case "bytes":
    case "message":
      return 2;
    case "int32":
    case "uint32":
    case "sint32":
    case "int64":
    case "uint64":
    case "sint64":
    case "bool":
    case "enum":
      return 0;
  }
}

const finite = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

export class TableDecoder {
  private readonly byName = new Map<string, number>();
  private readonly byNumber: (Map<number, FieldSchema> | undefined)[] = [];

  constructor(private readonly table: CodecTable) {
    table.messages.forEach((m, i) => this.byName.set(m.name, i));
  }

  /** Decodes `buf` as the message named `name` (full name). */
  decode(name: string, buf: Buffer): Obj {
    const index = this.byName.get(name);
    if (index === undefined) throw new DecodeError(`message ${name} is not in the codec table`);
    return this.message(index, new Reader(buf, 0, buf.length), 0);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private schema(index: number): MessageSchema {
    const m = this.table.messages[index];
    if (m === undefined) throw new DecodeError(`codec table has no message ${index}`);
    return m;
  }

  private fields(index: number): Map<number, FieldSchema> {
    let map = this.byNumber[index];
    if (map === undefined) {
      map = new Map(this.schema(index).fields.map((f) => [f[0], f]));
      this.byNumber[index] = map;
    }
    return map;
  }

  private defaultOf(kind: FieldKind, ref: number): unknown {
    switch (kind) {
      case "string":
        return "";
      case "bytes":
        return Buffer.alloc(0);
      case "bool":
        return false;
      case "int64":
      case "uint64":
      case "sint64":
      case "fixed64":
      case "sfixed64":
        return "0";
      case "enum": {
        const e = this.table.enums[ref];
        return e === undefined ? 0 : (e.names[e.first] ?? e.first);
      }
      case "message":
        return null;
      case "double":
      case "float":
      case "int32":
      case "uint32":
      case "sint32":
      case "fixed32":
      case "sfixed32":
        return 0;
    }
  }

  private message(index: number, r: Reader, depth: number): Obj {
    if (depth > MAX_DEPTH) throw new DecodeError("max depth exceeded");
    const schema = this.schema(index);
    const out: Obj = {};
    for (const [, name, kind, ref, rule, oneof] of schema.fields) {
      if (rule === 1) out[name] = [];
      else if (rule === 2) out[name] = {};
      else if (oneof < 0) out[name] = this.defaultOf(kind, ref);
    }
    const fields = this.fields(index);
    while (r.pos < r.end) {
      const tag = r.uint32();
      const wire = tag & 7;
      const f = fields.get(tag >>> 3);
      if (f === undefined) {
        r.skip(wire, depth);
        continue;
      }
      const [, name, kind, ref, rule] = f;
      if (f[4] === 2) {
        if (wire !== 2) throw new DecodeError(`${schema.name}.${name}: wrong wire type ${wire}`);
        const [key, value] = this.mapEntry(f[6], kind, ref, r, depth);
        (out[name] as Obj)[key] = value;
      } else if (rule === 1) {
        const list = out[name] as unknown[];
        const packable = kind !== "string" && kind !== "bytes" && kind !== "message";
        if (packable && wire === 2) {
          const start = r.take(r.uint32());
          const inner = new Reader(r.buf, start, r.pos);
          while (inner.pos < inner.end) list.push(this.value(kind, ref, inner, depth));
        } else {
          this.checkWire(schema, name, kind, wire);
          list.push(this.value(kind, ref, r, depth));
        }
      } else {
        this.checkWire(schema, name, kind, wire);
        out[name] = this.value(kind, ref, r, depth);
      }
    }
    // The oneof's virtual field names its member; with several on the wire, the last by number.
    schema.oneofs.forEach((oneof, i) => {
      for (const [, name, , , , o] of schema.fields) if (o === i && name in out) out[oneof] = name;
    });
    return schema.name === ANY ? this.unpackAny(out, depth) : out;
  }

  private checkWire(schema: MessageSchema, name: string, kind: FieldKind, wire: number): void {
    if (wire !== wireOf(kind))
      throw new DecodeError(`${schema.name}.${name}: wrong wire type ${wire} for ${kind}`);
  }

  /** A map entry; a key that is not a string becomes its decimal (or true/false) text. */
  private mapEntry(
    keyKind: FieldKind,
    kind: FieldKind,
    ref: number,
    r: Reader,
    depth: number,
  ): [string, unknown] {
    const start = r.take(r.uint32());
    const inner = new Reader(r.buf, start, r.pos);
    let key = String(this.defaultOf(keyKind, -1));
    let value = this.defaultOf(kind, ref);
    while (inner.pos < inner.end) {
      const tag = inner.uint32();
      if (tag >>> 3 === 1 && (tag & 7) === wireOf(keyKind))
        key = String(this.value(keyKind, -1, inner, depth));
      else if (tag >>> 3 === 2 && (tag & 7) === wireOf(kind))
        value = this.value(kind, ref, inner, depth);
      else inner.skip(tag & 7, depth);
    }
    return [key, value];
  }

  private value(kind: FieldKind, ref: number, r: Reader, depth: number): unknown {
    switch (kind) {
      case "string": {
        const start = r.take(r.uint32());
        return r.buf.toString("utf8", start, r.pos);
      }
      case "bytes": {
        const start = r.take(r.uint32());
        return r.buf.subarray(start, r.pos);
      }
      case "message": {
        const start = r.take(r.uint32());
        return this.message(ref, new Reader(r.buf, start, r.pos), depth + 1);
      }
      case "bool":
        return r.varint64() !== 0n;
      case "int32":
        return r.uint32() | 0;
      case "uint32":
        return r.uint32();
      case "sint32": {
        const n = r.uint32();
        return (n >>> 1) ^ -(n & 1);
      }
      case "enum": {
        const n = r.uint32() | 0;
        return this.table.enums[ref]?.names[n] ?? n;
      }
      case "int64":
        return String(BigInt.asIntN(64, r.varint64()));
      case "uint64":
        return String(r.varint64());
      case "sint64": {
        const n = r.varint64();
        return String((n >> 1n) ^ -(n & 1n));
      }
      case "fixed32":
        return r.buf.readUInt32LE(r.take(4));
      case "sfixed32":
        return r.buf.readInt32LE(r.take(4));
      case "fixed64":
        return String(r.buf.readBigUInt64LE(r.take(8)));
      case "sfixed64":
        return String(r.buf.readBigInt64LE(r.take(8)));
      case "float":
        return finite(r.buf.readFloatLE(r.take(4)));
      case "double":
        return finite(r.buf.readDoubleLE(r.take(8)));
    }
  }

  /**
   * An Any whose type is in the table becomes that message plus `@type` (protobufjs's `json`
   * form); any other stays `{ type_url, value }`.
   */
  private unpackAny(packed: Obj, depth: number): Obj {
    const url = packed.type_url as string;
    const value = packed.value as Buffer;
    const slash = url.lastIndexOf("/");
    const index = url === "" ? undefined : this.byName.get(url.slice(slash + 1));
    if (index === undefined) return packed;
    const decoded = this.message(index, new Reader(value, 0, value.length), depth + 1);
    const prefix = url.slice(0, slash + 1);
    decoded["@type"] = (prefix === "" ? DEFAULT_TYPE_URL_PREFIX : prefix) + this.schema(index).name;
    return decoded;
  }
}
