// ClientStatusDiscoveryService: what each connected client holds, has on its way and refused,
// per resource, in the format `istioctl proxy-config`-style tools read (csds-report.ts), scoped to
// the caller's namespace.
import * as grpc from "@grpc/grpc-js";
import type { Caller } from "../../pki/caller.js";
import { assertNever } from "../../common/assert-never.js";
import { callerNamespace, callerServiceAccount } from "../../pki/caller.js";
import type { ClientStatusRequest__Output } from "../generated/envoy/service/status/v3/ClientStatusRequest.js";
import type { ClientStatusResponse } from "../generated/envoy/service/status/v3/ClientStatusResponse.js";
import type { ClientConnection } from "./connection.js";
import type { Omissions } from "./csds-report.js";
import { answer } from "./csds-report.js";

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

/** Trailing metadata of a FetchClientStatus answer that left something out, with the counts. */
export const OMITTED_CONTENTS = "vireo-csds-omitted-contents";
export const SUMMARISED_CLIENTS = "vireo-csds-summarised-clients";
export const OMITTED_CLIENTS = "vireo-csds-omitted-clients";

function omissionTrailer(o: Omissions): grpc.Metadata | undefined {
  if (o.contents === 0 && o.summarisedClients === 0 && o.clients === 0) return undefined;
  const md = new grpc.Metadata();
  if (o.contents > 0) md.set(OMITTED_CONTENTS, String(o.contents));
  if (o.summarisedClients > 0) md.set(SUMMARISED_CLIENTS, String(o.summarisedClients));
  if (o.clients > 0) md.set(OMITTED_CLIENTS, String(o.clients));
  return md;
}

function byNode(a: ClientConnection, b: ClientConnection): number {
  const x = a.node?.id ?? "";
  const y = b.node?.id ?? "";
  return x < y ? -1 : x > y ? 1 : a.id - b.id;
}

export interface CsdsDeps {
  readonly clients: () => Iterable<ClientConnection>;
  /** The largest answer, in encoded bytes (the gRPC message limit). */
  readonly budget: number;
  /** A bound on the encoded size of a client's node. */
  readonly nodeBytes: (c: ClientConnection) => number;
}

/**
 * Each request gets one answer, in node id order, within the budget: a client's resources while
 * they fit, else its status per type; contents (unless excluded) while they fit. A caller that
 * wants all of every client's asks for one client at a time (`node_matchers`), on a stream
 * without waiting for each answer.
 */
export function csdsHandlers(deps: CsdsDeps): CsdsHandlers {
  const respond = (req: ClientStatusRequest__Output, scope: CsdsScope) => {
    const wanted = req.node_matchers
      .map((m) => m.node_id?.exact)
      .filter((id): id is string => id !== undefined && id !== "");
    const clients = [...deps.clients()]
      .filter((c) => inScope(scope, c))
      .filter((c) => wanted.length === 0 || wanted.includes(c.node?.id ?? ""))
      .sort(byNode);
    return answer(clients, !req.exclude_resource_contents, deps.budget, deps.nodeBytes);
  };
  return {
    FetchClientStatus(call, cb, scope) {
      const { response, omitted } = respond(call.request, scope);
      cb(null, response, omissionTrailer(omitted));
    },
    respond(call, req, scope) {
      call.write(respond(req as ClientStatusRequest__Output, scope).response);
    },
  };
}
