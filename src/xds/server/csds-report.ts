// What CSDS says of each client, read from what the client holds (holdings.ts), and the answer
// fitted into one gRPC message. Every client in the answer is listed; resource by resource while
// the budget allows, then per type (one entry with an empty name, as Istio's syncz). Contents come
// in order while the budget allows. The answer counts what it left out.
import type { ClientConfig } from "../generated/envoy/service/status/v3/ClientConfig.js";
import type { ClientStatusResponse } from "../generated/envoy/service/status/v3/ClientStatusResponse.js";
import type { EncodedResource, TypeUrl } from "../snapshot.js";
import { pushRank } from "../snapshot.js";
import type { ClientConnection, TypeState } from "./connection.js";
import type { Held, Rejection, ResourceView } from "./holdings.js";
import { ABSENT } from "./holdings.js";

type Entry = NonNullable<ClientConfig["generic_xds_configs"]>[number];
type ConfigStatus = "SYNCED" | "NOT_SENT" | "STALE" | "ERROR";

/** One resource's entry, and the bytes it may carry if the budget allows. */
interface Row {
  readonly entry: Entry;
  /** What the client holds. */
  readonly content: EncodedResource | undefined;
  /** What it refused (`error_state.failed_configuration`). */
  readonly failed: EncodedResource | undefined;
  readonly rejected: Rejection | undefined;
}

/** What an answer left out to fit its budget. */
export interface Omissions {
  /** Resources listed without the contents the request asked for. */
  readonly contents: number;
  /** Clients listed per type rather than per resource. */
  readonly summarisedClients: number;
  /** Clients not listed at all. */
  readonly clients: number;
}

export interface Answer {
  readonly response: ClientStatusResponse;
  readonly omitted: Omissions;
}

function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function hasBytes(h: Held | undefined): h is EncodedResource {
  return h?.value !== undefined;
}

function row(typeUrl: TypeUrl, v: ResourceView): Row {
  const held = v.acked === ABSENT ? undefined : v.acked;
  const clientStatus =
    v.rejected !== undefined
      ? "NACKED"
      : held !== undefined
        ? "ACKED"
        : v.pending === undefined && v.acked === ABSENT
          ? "DOES_NOT_EXIST"
          : "REQUESTED";
  const configStatus: ConfigStatus =
    v.rejected !== undefined
      ? "ERROR"
      : v.pending !== undefined
        ? "STALE"
        : v.acked === undefined
          ? "NOT_SENT"
          : "SYNCED";
  const nack = v.rejected?.nack;
  const failed = v.rejected?.change;
  return {
    entry: {
      type_url: typeUrl,
      name: v.name,
      version_info: v.ackedVersion,
      ...(v.ackedAt === undefined ? {} : { last_updated: timestamp(v.ackedAt) }),
      config_status: configStatus,
      client_status: clientStatus,
      ...(nack === undefined
        ? {}
        : {
            error_state: {
              details: nack.message,
              version_info: String(nack.version),
              last_update_attempt: timestamp(nack.at),
            },
          }),
    },
    content: hasBytes(held) ? held : undefined,
    failed: failed === ABSENT ? undefined : failed,
    rejected: v.rejected,
  };
}

function typesOf(client: ClientConnection): [TypeUrl, TypeState][] {
  return [...client.types].sort((a, b) => pushRank(a[0]) - pushRank(b[0]));
}

/** Every resource of every type the client subscribed to, by type then name. */
export function statusRows(client: ClientConnection): Row[] {
  const rows: Row[] = [];
  for (const [typeUrl, state] of typesOf(client)) {
    const views = state.holdings.view(state.subscription);
    views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const v of views) rows.push(row(typeUrl, v));
  }
  return rows;
}

const RANK: Readonly<Record<ConfigStatus, number>> = { SYNCED: 0, NOT_SENT: 1, STALE: 2, ERROR: 3 };

/** One entry per type: the worst status of its resources and the latest refusal among them. */
export function typeSummaries(client: ClientConnection, rows: readonly Row[]): Entry[] {
  return typesOf(client).map(([typeUrl, state]) => {
    const mine = rows.filter((r) => r.entry.type_url === typeUrl);
    let status: ConfigStatus =
      mine.length === 0 && state.sentVersion === undefined ? "NOT_SENT" : "SYNCED";
    let latest: Rejection | undefined;
    for (const r of mine) {
      const s = r.entry.config_status as ConfigStatus;
      if (RANK[s] > RANK[status]) status = s;
      if (r.rejected !== undefined && r.rejected.nack.at >= (latest?.nack.at ?? -1)) {
        latest = r.rejected;
      }
    }
    return {
      type_url: typeUrl,
      name: "",
      version_info: state.ackedVersion === undefined ? "" : String(state.ackedVersion),
      ...(state.ackedAt === undefined ? {} : { last_updated: timestamp(state.ackedAt) }),
      config_status: status,
      ...(latest === undefined
        ? {}
        : {
            error_state: {
              details: latest.nack.message,
              version_info: String(latest.nack.version),
              last_update_attempt: timestamp(latest.nack.at),
            },
          }),
    };
  });
}

// Encoded sizes, bounded from above without encoding: a field's tag is one byte (field numbers
// below 16), a length-delimited field adds its length as a varint, an enum below 128 is one byte.
function varintBytes(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) bytes++;
  return bytes;
}

function delimited(payload: number): number {
  return 1 + varintBytes(payload) + payload;
}

/** seconds (tag and up to 10 bytes) and nanos (tag and up to 5 bytes). */
const TIMESTAMP = delimited(1 + 10 + 1 + 5);
const ENUM = 2;
/** A client's ClientConfig field: its tag and a length prefix of up to 5 bytes. */
const CLIENT = 6;
/** Contents added to an entry may lengthen its prefix and its error state's, 2 bytes each. */
const GROWTH = 4;

function stringBytes(s: string | undefined): number {
  return s === undefined || s === "" ? 0 : delimited(Buffer.byteLength(s));
}

function entryBytes(e: Entry): number {
  const err = e.error_state ?? undefined;
  return delimited(
    stringBytes(e.type_url) +
      stringBytes(e.name) +
      stringBytes(e.version_info) +
      (e.last_updated === undefined ? 0 : TIMESTAMP) +
      2 * ENUM +
      (err === undefined
        ? 0
        : delimited(stringBytes(err.details) + stringBytes(err.version_info) + TIMESTAMP)),
  );
}

/** An `Any` holding the resource, added to an entry. */
function anyBytes(r: EncodedResource): number {
  return delimited(stringBytes(r.typeUrl) + delimited(r.value.length)) + GROWTH;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The answer about `clients` (in the order given) in at most `budget` bytes: every client's
 * resources while they fit, then per type; contents (when asked) in order while they fit.
 * `nodeBytes` bounds a client's encoded node.
 */
export function answer(
  clients: readonly ClientConnection[],
  withContents: boolean,
  budget: number,
  nodeBytes: (c: ClientConnection) => number,
): Answer {
  // The size of each client both ways; the rows are kept only while they could all fit.
  let kept = 0;
  const plans = clients.map((client) => {
    const rows = statusRows(client);
    const summary = typeSummaries(client, rows);
    const node = CLIENT + nodeBytes(client);
    const full = node + sum(rows.map((r) => entryBytes(r.entry)));
    kept += full;
    return {
      client,
      summary,
      summaryBytes: node + sum(summary.map(entryBytes)),
      full,
      rows: kept <= budget ? rows : undefined,
    };
  });
  let used = 0;
  let listed = 0;
  for (const p of plans) {
    if (used + p.summaryBytes > budget) break;
    used += p.summaryBytes;
    listed++;
  }
  let detailed = 0;
  for (const p of plans.slice(0, listed)) {
    const extra = p.full - p.summaryBytes;
    if (p.rows === undefined || used + extra > budget) break;
    used += extra;
    detailed++;
  }
  let omittedContents = 0;
  let room = withContents;
  const fits = (bytes: number): boolean => {
    room &&= used + bytes <= budget;
    if (room) used += bytes;
    else omittedContents++;
    return room;
  };
  const config: ClientConfig[] = plans.slice(0, listed).map((p, i) => {
    if (i >= detailed || p.rows === undefined) {
      return { node: p.client.node ?? null, generic_xds_configs: p.summary };
    }
    for (const r of withContents ? p.rows : []) {
      const c = r.content;
      if (c !== undefined && fits(anyBytes(c))) {
        r.entry.xds_config = { type_url: c.typeUrl, value: c.value };
      }
      const f = r.failed;
      const err = r.entry.error_state ?? undefined;
      if (f !== undefined && err !== undefined && fits(anyBytes(f))) {
        err.failed_configuration = { type_url: f.typeUrl, value: f.value };
      }
    }
    return { node: p.client.node ?? null, generic_xds_configs: p.rows.map((r) => r.entry) };
  });
  return {
    response: { config },
    omitted: {
      contents: omittedContents,
      summarisedClients: listed - detailed,
      clients: plans.length - listed,
    },
  };
}
