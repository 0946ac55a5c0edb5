// ClientStatusDiscoveryService: what each connected client was sent and has ACKed, per resource,
// in the format `istioctl proxy-config`-style tools read.
import type * as grpc from "@grpc/grpc-js";
import type { Caller } from "../../pki/caller.js";
import { assertNever } from "../../common/assert-never.js";
import { callerNamespace, callerServiceAccount } from "../../pki/caller.js";
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

/** Whose clients a CSDS caller is told about. */
export type CsdsScope =
  { readonly kind: "all" } | { readonly kind: "namespace"; readonly namespace: string };

/** A service account, by namespace and name. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * A client's configuration says what its namespace may reach, so a caller reads only the clients
 * whose credentials are of its own namespace. The exception is `admin`, the controller's own
 * service account (its token, or a certificate the certificate service issued to it): reading
 * every client is the operator's view, and creating that account's tokens is already the power
 * to act as the controller. Without authentication (--xds-insecure) everyone reads everything.
 */
export function csdsScope(
  caller: Caller | undefined,
  admin: ServiceAccountRef | undefined,
): CsdsScope {
  if (caller === undefined) return { kind: "all" };
  const namespace = callerNamespace(caller);
  if (admin?.namespace === namespace && admin.serviceAccount === callerServiceAccount(caller)) {
    return { kind: "all" };
  }
  return { kind: "namespace", namespace };
}

function inScope(scope: CsdsScope, client: ClientConnection): boolean {
  switch (scope.kind) {
    case "all":
      return true;
    case "namespace":
      return client.namespace === scope.namespace;
    default:
      return assertNever(scope);
  }
}

export interface CsdsHandlers {
  FetchClientStatus(
    call: grpc.ServerUnaryCall<ClientStatusRequest__Output, ClientStatusResponse>,
    cb: grpc.sendUnaryData<ClientStatusResponse>,
    scope: CsdsScope,
  ): void;
  /** Answers one request of a StreamClientStatus call. */
  respond(
    call: grpc.ServerDuplexStream<ClientStatusRequest__Output, ClientStatusResponse>,
    req: unknown,
    scope: CsdsScope,
  ): void;
}

export function csdsHandlers(
  clients: () => Iterable<ClientConnection>,
  history: SnapshotHistory,
): CsdsHandlers {
  const respond = (req: ClientStatusRequest__Output, scope: CsdsScope): ClientStatusResponse => {
    const wanted = req.node_matchers
      .map((m) => m.node_id?.exact)
      .filter((id): id is string => id !== undefined && id !== "");
    const config = [...clients()]
      .filter((c) => inScope(scope, c))
      .filter((c) => wanted.length === 0 || wanted.includes(c.node?.id ?? ""))
      .map((c) => clientConfig(c, history, !req.exclude_resource_contents));
    return { config };
  };
  return {
    FetchClientStatus(call, cb, scope) {
      cb(null, respond(call.request, scope));
    },
    respond(call, req, scope) {
      call.write(respond(req as ClientStatusRequest__Output, scope));
    },
  };
}
