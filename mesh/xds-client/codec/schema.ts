// The shape of the generated codec table (table.generated.ts): the Envoy messages the proxy reads
// and writes, as plain data, so no .proto file is loaded at run time.

/** Protobuf scalar types, plus `enum` and `message` (whose `ref` indexes the table). */
export type FieldKind =
  | "double"
  | "float"
  | "int32"
  | "uint32"
  | "sint32"
  | "fixed32"
  | "sfixed32"
  | "int64"
  | "uint64"
  | "sint64"
  | "fixed64"
  | "sfixed64"
  | "bool"
  | "string"
  | "bytes"
  | "enum"
  | "message";

/** 0: singular, 1: repeated, 2: map (kind and ref describe the value). */
export type FieldRule = 0 | 1 | 2;

/**
 * [number, name, kind, ref (message or enum index, -1 for scalars), rule, oneof index or -1], and
 * for a map the key's kind.
 */
export type FieldSchema =
  | readonly [number, string, FieldKind, number, 0 | 1, number]
  | readonly [number, string, FieldKind, number, 2, number, FieldKind];

export interface MessageSchema {
  /** Full name without the leading dot, as in a type URL. */
  readonly name: string;
  readonly oneofs: readonly string[];
  /** Sorted by field number. */
  readonly fields: readonly FieldSchema[];
}

export interface EnumSchema {
  readonly name: string;
  /** Number to name (the last alias wins, as protobufjs). */
  readonly names: Readonly<Record<number, string>>;
  /** The default value (proto3: the first declared). */
  readonly first: number;
}

export interface CodecTable {
  readonly messages: readonly MessageSchema[];
  readonly enums: readonly EnumSchema[];
}
