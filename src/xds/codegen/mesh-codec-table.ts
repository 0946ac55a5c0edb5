// Renders mesh/xds-client/codec/table.generated.ts: every message the proxy decodes (ADS responses
// and the resources packed in them) or encodes (ADS requests), read from the Envoy protos with the
// same loader and options as the control plane, as a data table the proxy's codec interprets.
// Build time only: the proxy itself never loads protobufjs or a .proto file.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Protobuf from "protobufjs";
import type {
  EnumSchema,
  FieldKind,
  FieldSchema,
  MessageSchema,
} from "../../../mesh/xds-client/codec/schema.js";
import { FULL_NAMES } from "../type-urls.js";
import { PROTO_FILES, protoIncludeDirs } from "../protos.js";

/** Decoded by the proxy: ADS responses and every resource or extension it unpacks from an Any. */
export const DECODE_ROOTS: readonly string[] = [
  "envoy.service.discovery.v3.DiscoveryResponse",
  "envoy.service.discovery.v3.DeltaDiscoveryResponse",
  ...Object.values(FULL_NAMES),
  // The per-route wrapper around an HTTPFault (convert-policy.ts).
  "envoy.config.route.v3.FilterConfig",
];

/** Encoded by the proxy. */
export const ENCODE_ROOTS: readonly string[] = [
  "envoy.service.discovery.v3.DiscoveryRequest",
  "envoy.service.discovery.v3.DeltaDiscoveryRequest",
];

const SCALARS = new Set<string>([
  "double",
  "float",
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** proto-loader's own protobufjs, so the reflection matches what the control plane encodes with. */
function protobufjs(): typeof Protobuf {
  const loader = createRequire(import.meta.url).resolve("@grpc/proto-loader");
  // Loading proto-loader registers Google's common protos (descriptor.proto, …) with protobufjs.
  createRequire(import.meta.url)("@grpc/proto-loader");
  return createRequire(loader)("protobufjs") as typeof Protobuf;
}

function loadRoot(pb: typeof Protobuf): Protobuf.Root {
  const root = new pb.Root();
  const dirs = protoIncludeDirs();
  // As proto-loader resolves imports: the first include directory holding the file.
  root.resolvePath = (_origin, target) =>
    dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

const strip = (fullName: string): string => fullName.replace(/^\./, "");

export const TABLE_PATH = fileURLToPath(
  new URL("../../../mesh/xds-client/codec/table.generated.ts", import.meta.url),
);

/** The table as TypeScript source, one message or enum a line. */
export function renderCodecTable(): string {
  const pb = protobufjs();
  const root = loadRoot(pb);
  const messages: Protobuf.Type[] = [];
  const enums: Protobuf.Enum[] = [];
  const messageIndex = new Map<Protobuf.Type, number>();
  const enumIndex = new Map<Protobuf.Enum, number>();
  const visit = (t: Protobuf.Type): void => {
    if (messageIndex.has(t)) return;
    messageIndex.set(t, messages.length);
    messages.push(t);
    for (const f of t.fieldsArray) {
      const r = f.resolvedType;
      if (r instanceof pb.Type) visit(r);
      else if (r instanceof pb.Enum && !enumIndex.has(r)) {
        enumIndex.set(r, enums.length);
        enums.push(r);
      }
    }
  };
  for (const name of [...DECODE_ROOTS, ...ENCODE_ROOTS]) visit(root.lookupType(name));

  const field = (t: Protobuf.Type, f: Protobuf.Field): FieldSchema => {
    const where = `${strip(t.fullName)}.${f.name}`;
    const r = f.resolvedType;
    let kind: FieldKind;
    let ref = -1;
    if (r instanceof pb.Type) {
      kind = "message";
      ref = messageIndex.get(r) ?? -1;
    } else if (r instanceof pb.Enum) {
      kind = "enum";
      ref = enumIndex.get(r) ?? -1;
      const first = Object.values(r.values)[0];
      if (!f.map && f.typeDefault !== first) throw new Error(`${where}: enum default is not first`);
    } else if (SCALARS.has(f.type)) kind = f.type as FieldKind;
    else throw new Error(`${where}: unresolved type ${f.type}`);
    const isMap = f instanceof pb.MapField;
    if (isMap && !SCALARS.has(f.keyType)) throw new Error(`${where}: map key ${f.keyType}`);
    if (!isMap && !f.repeated && SCALARS.has(f.type) && f.defaultValue !== f.typeDefault)
      throw new Error(`${where}: explicit defaults are not supported`);
    const oneof = f.partOf === null ? -1 : t.oneofsArray.indexOf(f.partOf);
    return isMap
      ? [f.id, f.name, kind, ref, 2, oneof, f.keyType as FieldKind]
      : [f.id, f.name, kind, ref, f.repeated ? 1 : 0, oneof];
  };

  const messageLine = (t: Protobuf.Type, i: number): string => {
    const m: MessageSchema = {
      name: strip(t.fullName),
      oneofs: t.oneofsArray.map((o) => o.name),
      fields: [...t.fieldsArray].sort((a, b) => a.id - b.id).map((f) => field(t, f)),
    };
    return `    /* ${i} */ ${JSON.stringify(m)},`;
  };
  const enumLine = (e: Protobuf.Enum, i: number): string => {
    const s: EnumSchema = {
      name: strip(e.fullName),
      names: e.valuesById,
      first: Object.values(e.values)[0] ?? 0,
    };
    return `    /* ${i} */ ${JSON.stringify(s)},`;
  };
  return [
    "// Generated by `npm run gen:mesh-codecs` (src/xds/codegen/) from the Envoy protos shipped in",
    "// @grpc/grpc-js-xds. Do not edit; test/unit/mesh/xds-codec.test.ts fails when it is stale.",
    'import type { CodecTable } from "./schema.js";',
    "",
    "export const TABLE: CodecTable = {",
    "  messages: [",
    ...messages.map(messageLine),
    "  ],",
    "  enums: [",
    ...enums.map(enumLine),
    "  ],",
    "};",
    "",
  ].join("\n");
}
