// What CSDS says of each client, read from what the client holds (holdings.ts): per resource, its
// status, what the client holds and what it refused.
import type { ClientConfig } from "../generated/envoy/service/status/v3/ClientConfig.js";
import type { EncodedResource, TypeUrl } from "../snapshot.js";
import { pushRank } from "../snapshot.js";
import type { ClientConnection, TypeState } from "./connection.js";
import type { Held, ResourceView } from "./holdings.js";
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
  };
}

function typesOf(client: ClientConnection): [TypeUrl, TypeState][] {
  return [...client.types].sort((a, b) => pushRank(a[0]) - pushRank(b[0]));
}

/** Every resource of every type the client subscribed to, by type then name. */
function statusRows(client: ClientConnection): Row[] {
  const rows: Row[] = [];
  for (const [typeUrl, state] of typesOf(client)) {
    const views = state.holdings.view(state.subscription);
    views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const v of views) rows.push(row(typeUrl, v));
  }
  return rows;
}

/** One client's status; with `withContents`, what it holds and what it refused. */
export function clientConfig(client: ClientConnection, withContents: boolean): ClientConfig {
  const rows = statusRows(client);
  for (const r of withContents ? rows : []) {
    const c = r.content;
    if (c !== undefined) r.entry.xds_config = { type_url: c.typeUrl, value: c.value };
    const f = r.failed;
    const err = r.entry.error_state ?? undefined;
    if (f !== undefined && err !== undefined) {
      err.failed_configuration = { type_url: f.typeUrl, value: f.value };
    }
  }
  return { node: client.node ?? null, generic_xds_configs: rows.map((r) => r.entry) };
}
