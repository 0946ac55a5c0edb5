// What the control plane knows about each connected client: its node, and per resource type what
// it subscribed to, what it holds (holdings.ts), which version it was sent, which it ACKed, and
// its last NACK.
import type { Node__Output } from "../generated/envoy/config/core/v3/Node.js";
import type { TypeUrl } from "../snapshot.js";
import type { Holdings, Nack } from "./holdings.js";
import type { Subscription } from "./subscription.js";
import { namesSubscription } from "./subscription.js";

export interface TypeState<H extends Holdings = Holdings> {
  subscription: Subscription;
  /** Whether the client ever named resources explicitly (ends legacy wildcard in SotW). */
  explicit: boolean;
  /** What the client holds, has on its way and refused, resource by resource. */
  readonly holdings: H;
  sentVersion: number | undefined;
  sentNonce: string | undefined;
  /** Content signature of the last response, to avoid resending what a client NACKed. */
  sentSignature: string | undefined;
  ackedVersion: number | undefined;
  ackedAt: number | undefined;
  lastNack: Nack | undefined;
  nackedSignature: string | undefined;
}

/** Records a sent response's nonce, version and content signature. */
export function rememberSent(
  state: TypeState,
  nonce: string,
  version: number,
  signature: string,
): void {
  state.sentNonce = nonce;
  state.sentVersion = version;
  state.sentSignature = signature;
}

function newTypeState<H extends Holdings>(holdings: H): TypeState<H> {
  return {
    subscription: namesSubscription([]),
    explicit: false,
    holdings,
    sentVersion: undefined,
    sentNonce: undefined,
    sentSignature: undefined,
    ackedVersion: undefined,
    ackedAt: undefined,
    lastNack: undefined,
    nackedSignature: undefined,
  };
}

export interface ClientTypeSummary {
  readonly typeUrl: string;
  readonly subscribed: "*" | readonly string[];
  readonly sentVersion?: number;
  readonly ackedVersion?: number;
  readonly lastNack?: Nack;
}

/** A read-only view of one connected client, for the CLI and the controller. */
export interface ClientSummary {
  readonly id: number;
  readonly transport: "sotw" | "delta";
  readonly nodeId: string;
  readonly cluster: string;
  readonly userAgent: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly connectedAt: number;
  readonly types: readonly ClientTypeSummary[];
}

export class ClientConnection<H extends Holdings = Holdings> {
  node: Node__Output | undefined;
  readonly types = new Map<TypeUrl, TypeState<H>>();
  private nonce = 0;

  constructor(
    readonly id: number,
    readonly transport: "sotw" | "delta",
    readonly connectedAt: number,
    /** The namespace its credentials proved; undefined when the server authenticates no one. */
    readonly namespace: string | undefined,
    private readonly newHoldings: () => H,
  ) {}

  nextNonce(): string {
    this.nonce++;
    return String(this.nonce);
  }

  type(typeUrl: TypeUrl): TypeState<H> {
    let s = this.types.get(typeUrl);
    if (s === undefined) {
      s = newTypeState(this.newHoldings());
      this.types.set(typeUrl, s);
    }
    return s;
  }

  /** Whether this client holds (or asked for) the named resource of a type. */
  holds(typeUrl: TypeUrl, name: string, exists: boolean): boolean {
    const s = this.types.get(typeUrl);
    if (s === undefined) return false;
    return s.subscription.kind === "wildcard" ? exists : s.subscription.names.has(name);
  }

  summary(): ClientSummary {
    const n = this.node;
    return {
      id: this.id,
      transport: this.transport,
      nodeId: n?.id ?? "",
      cluster: n?.cluster ?? "",
      userAgent: `${n?.user_agent_name ?? ""} ${n?.user_agent_version ?? ""}`.trim(),
      metadata: structToObject(n?.metadata as StructLike | null | undefined),
      connectedAt: this.connectedAt,
      types: [...this.types].map(([typeUrl, s]) => ({
        typeUrl,
        subscribed: s.subscription.kind === "wildcard" ? "*" : [...s.subscription.names].sort(),
        ...(s.sentVersion === undefined ? {} : { sentVersion: s.sentVersion }),
        ...(s.ackedVersion === undefined ? {} : { ackedVersion: s.ackedVersion }),
        ...(s.lastNack === undefined ? {} : { lastNack: s.lastNack }),
      })),
    };
  }
}

interface StructLike {
  fields?: Record<string, ValueLike>;
}

/**
 * google.protobuf.Value as decoded: protobufjs builds the well-known types itself, so their fields
 * may arrive camelCase even with keepCase; both spellings are read.
 */
interface ValueLike {
  kind?: string;
  number_value?: number;
  numberValue?: number;
  string_value?: string;
  stringValue?: string;
  bool_value?: boolean;
  boolValue?: boolean;
  struct_value?: StructLike | null;
  structValue?: StructLike | null;
  list_value?: { values?: ValueLike[] } | null;
  listValue?: { values?: ValueLike[] } | null;
}

/** google.protobuf.Struct as decoded by proto-loader, to plain JSON. */
export function structToObject(s: StructLike | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: ValueLike): unknown {
  const num = v.number_value ?? v.numberValue;
  if (num !== undefined) return num;
  const str = v.string_value ?? v.stringValue;
  if (str !== undefined) return str;
  const bool = v.bool_value ?? v.boolValue;
  if (bool !== undefined) return bool;
  const struct = v.struct_value ?? v.structValue;
  if (struct !== undefined && struct !== null) return structToObject(struct);
  const list = v.list_value ?? v.listValue;
  if (list !== undefined && list !== null) return (list.values ?? []).map(valueToJson);
  return null;
}
