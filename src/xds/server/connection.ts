// What the control plane knows about each connected client: its node, and per resource type what
// it subscribed to, which version it was sent, which it ACKed, and its last NACK.
import type { Node__Output } from "../generated/envoy/config/core/v3/Node.js";
import type { TypeUrl } from "../snapshot.js";

export type Subscription =
  | { readonly kind: "wildcard" }
  | {
      readonly kind: "names";
      readonly names: ReadonlySet<string>;
      /** The sorted names joined: clients with equal keys get equal responses. */
      readonly key: string;
    };

export function namesSubscription(names: Iterable<string>): Subscription {
  const set = new Set(names);
  return { kind: "names", names: set, key: [...set].sort().join("\u0000") };
}

export function subscriptionKey(sub: Subscription): string {
  return sub.kind === "wildcard" ? "*" : `=${sub.key}`;
}

export interface Nack {
  readonly version: number;
  readonly message: string;
  readonly at: number;
}

export interface TypeState {
  subscription: Subscription;
  /** Whether the client ever named resources explicitly (ends legacy wildcard in SotW). */
  explicit: boolean;
  sentVersion: number | undefined;
  sentNonce: string | undefined;
  /** Content signature of the last response, to avoid resending what a client NACKed. */
  sentSignature: string | undefined;
  ackedVersion: number | undefined;
  ackedAt: number | undefined;
  lastNack: Nack | undefined;
  nackedSignature: string | undefined;
  /** Delta only: the version (hash) of each resource the client holds. */
  known: Map<string, string> | undefined;
  /** Versions of the last few responses by nonce: an ACK of an older response still counts. */
  recent: [nonce: string, version: number][];
}

/** Remembers a sent response's nonce and version (the last four per type). */
export function rememberSent(state: TypeState, nonce: string, version: number): void {
  state.sentNonce = nonce;
  state.sentVersion = version;
  state.recent.push([nonce, version]);
  if (state.recent.length > 4) state.recent.shift();
}

/** The version of a response this client replied to, if it is recent enough to know. */
export function versionOfNonce(state: TypeState, nonce: string): number | undefined {
  return state.recent.find(([n]) => n === nonce)?.[1];
}

export function newTypeState(): TypeState {
  return {
    subscription: namesSubscription([]),
    explicit: false,
    sentVersion: undefined,
    sentNonce: undefined,
    sentSignature: undefined,
    ackedVersion: undefined,
    ackedAt: undefined,
    lastNack: undefined,
    nackedSignature: undefined,
    known: undefined,
    recent: [],
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

export class ClientConnection {
  node: Node__Output | undefined;
  readonly types = new Map<TypeUrl, TypeState>();
  private nonce = 0;

  constructor(
    readonly id: number,
    readonly transport: "sotw" | "delta",
    readonly connectedAt: number,
    /** The namespace its credentials proved; undefined when the server authenticates no one. */
    readonly namespace: string | undefined,
  ) {}

  nextNonce(): string {
    this.nonce++;
    return String(this.nonce);
  }

  type(typeUrl: TypeUrl): TypeState {
    let s = this.types.get(typeUrl);
    if (s === undefined) {
      s = newTypeState();
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
