// ClientStatusDiscoveryService: what each connected client was sent and has ACKed, per resource,
// in the format `istioctl proxy-config`-style tools read.
import type * as grpc from "@grpc/grpc-js";
import type { ClientConfig } from "../generated/envoy/service/status/v3/ClientConfig.js";
import type { ClientStatusRequest__Output } from "../generated/envoy/service/status/v3/ClientStatusRequest.js";
import type { ClientStatusResponse } from "../generated/envoy/service/status/v3/ClientStatusResponse.js";
import type { ClientConnection } from "./connection.js";
import type { SnapshotHistory } from "./history.js";

function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function clientConfig(
  client: ClientConnection,
  history: SnapshotHistory,
  withContents: boolean,
): ClientConfig {
  const configs: NonNullable<ClientConfig["generic_xds_configs"]> = [];
  for (const [typeUrl, state] of client.types) {
    const sent = history.get(state.sentVersion)?.resources.get(typeUrl);
    const names =
      state.subscription.kind === "wildcard"
        ? [...(sent?.keys() ?? [])]
        : [...state.subscription.names];
    for (const name of names.sort()) {
      const r = sent?.get(name);
      const nacked = state.lastNack !== undefined && state.lastNack.version === state.sentVersion;
      const synced = state.ackedVersion !== undefined && state.ackedVersion === state.sentVersion;
      configs.push({
        type_url: typeUrl,
        name,
        version_info: state.ackedVersion === undefined ? "" : String(state.ackedVersion),
        ...(withContents && r !== undefined
          ? { xds_config: { type_url: r.typeUrl, value: r.value } }
          : {}),
        ...(state.ackedAt === undefined ? {} : { last_updated: timestamp(state.ackedAt) }),
        config_status:
          r === undefined ? "NOT_SENT" : nacked ? "ERROR" : synced ? "SYNCED" : "STALE",
        client_status:
          r === undefined ? "DOES_NOT_EXIST" : nacked ? "NACKED" : synced ? "ACKED" : "REQUESTED",
        ...(state.lastNack === undefined
          ? {}
          : {
              error_state: {
                details: state.lastNack.message,
                version_info: String(state.lastNack.version),
                last_update_attempt: timestamp(state.lastNack.at),
              },
            }),
      });
    }
  }
  return { node: client.node ?? null, generic_xds_configs: configs };
}

export interface CsdsHandlers {
  FetchClientStatus(
    call: grpc.ServerUnaryCall<ClientStatusRequest__Output, ClientStatusResponse>,
    cb: grpc.sendUnaryData<ClientStatusResponse>,
  ): void;
  /** Answers one request of a StreamClientStatus call. */
  respond(
    call: grpc.ServerDuplexStream<ClientStatusRequest__Output, ClientStatusResponse>,
    req: unknown,
  ): void;
}

export function csdsHandlers(
  clients: () => Iterable<ClientConnection>,
  history: SnapshotHistory,
): CsdsHandlers {
  const respond = (req: ClientStatusRequest__Output): ClientStatusResponse => {
    const wanted = req.node_matchers
      .map((m) => m.node_id?.exact)
      .filter((id): id is string => id !== undefined && id !== "");
    const config = [...clients()]
      .filter((c) => wanted.length === 0 || wanted.includes(c.node?.id ?? ""))
      .map((c) => clientConfig(c, history, !req.exclude_resource_contents));
    return { config };
  };
  return {
    FetchClientStatus(call, cb) {
      cb(null, respond(call.request));
    },
    respond(call, req) {
      call.write(respond(req as ClientStatusRequest__Output));
    },
  };
}
