// ClientStatusDiscoveryService: what each connected client holds, has on its way and refused,
// per resource, in the format `istioctl proxy-config`-style tools read (csds-report.ts), scoped to
// the caller's namespace.
import type * as grpc from "@grpc/grpc-js";
import type { Caller } from "../../pki/caller.js";
import { assertNever } from "../../common/assert-never.js";
import { callerNamespace, callerServiceAccount } from "../../pki/caller.js";
import type { ClientStatusRequest__Output } from "../generated/envoy/service/status/v3/ClientStatusRequest.js";
import type { ClientStatusResponse } from "../generated/envoy/service/status/v3/ClientStatusResponse.js";
import type { ClientConnection } from "./connection.js";
import { clientConfig } from "./csds-report.js";

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

export function csdsHandlers(clients: () => Iterable<ClientConnection>): CsdsHandlers {
  const respond = (req: ClientStatusRequest__Output, scope: CsdsScope): ClientStatusResponse => {
    const wanted = req.node_matchers
      .map((m) => m.node_id?.exact)
      .filter((id): id is string => id !== undefined && id !== "");
    const config = [...clients()]
      .filter((c) => inScope(scope, c))
      .filter((c) => wanted.length === 0 || wanted.includes(c.node?.id ?? ""))
      .map((c) => clientConfig(c, !req.exclude_resource_contents));
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
