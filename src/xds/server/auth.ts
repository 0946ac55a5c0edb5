// Authentication of the control plane's own port: every ADS and CSDS call carries a
// service-account token (TokenReview-checked) or a client certificate from our CA; anonymous
// callers get UNAUTHENTICATED. A proxy may only speak for its own namespace.
import * as grpc from "@grpc/grpc-js";
import { describeError } from "../../common/errors.js";
import type { Authentication, Caller, CallCredentials } from "../../pki/caller.js";
import { callerNamespace, describeCaller } from "../../pki/caller.js";
import type { Node__Output } from "../generated/envoy/config/core/v3/Node.js";
import { structToObject } from "./connection.js";

export interface XdsAuth {
  authenticate(call: CallCredentials): Promise<Authentication>;
}

interface GuardedCall extends CallCredentials {
  on(event: "data", listener: (req: unknown) => void): unknown;
  on(event: "end" | "close" | "cancelled" | "error", listener: () => void): unknown;
  emit(event: "error", err: Partial<grpc.StatusObject>): boolean;
}

export function refuse(call: GuardedCall, code: grpc.status, details: string): void {
  call.emit("error", { code, details, metadata: new grpc.Metadata() });
}

/**
 * Whether a stream's first request must carry a Node: ADS requires it (the xDS protocol does, and
 * the namespace check needs it); a CSDS request's node is optional.
 */
export type NodeRule = "required" | "optional";

/**
 * Holds a stream's requests until its caller is authenticated, then hands them to the handler
 * `start` returns; without `auth` the stream starts at once (the --xds-insecure mode).
 */
export function guardStream(
  auth: XdsAuth | undefined,
  call: GuardedCall,
  node: NodeRule,
  start: (caller: Caller | undefined) => (req: unknown) => void,
): void {
  if (auth === undefined) {
    const handle = start(undefined);
    call.on("data", handle);
    return;
  }
  const held: unknown[] = [];
  let handle: ((req: unknown) => void) | undefined;
  let refused = false;
  // A caller that leaves while its token is reviewed must not become a stream nobody closes (it
  // would count as a proxy that never ACKs).
  let gone = false;
  for (const e of ["end", "close", "cancelled", "error"] as const) {
    call.on(e, () => {
      if (handle === undefined) gone = true;
    });
  }
  call.on("data", (req) => {
    if (refused) return;
    if (handle === undefined) held.push(req);
    else handle(req);
  });
  void auth
    .authenticate(call)
    .then((a) => {
      if (gone) return;
      if (!a.ok) {
        refused = true;
        refuse(call, grpc.status.UNAUTHENTICATED, a.reason);
        return;
      }
      const inner = start(a.caller);
      const checked = nodeNamespaceCheck(a.caller, node, (code, details) => {
        refused = true;
        refuse(call, code, details);
      });
      handle = (req) => {
        if (!refused && checked(req)) inner(req);
      };
      for (const req of held.splice(0)) handle(req);
    })
    .catch((err: unknown) => {
      // authenticate() never rejects; a handler that throws while starting ends this stream only.
      refused = true;
      refuse(call, grpc.status.INTERNAL, `stream could not start: ${describeError(err)}`);
    });
}

/**
 * Authenticates a unary call before `run` (given the caller; undefined without `auth`); refuses it
 * with UNAUTHENTICATED otherwise.
 */
export function guardUnary<Res>(
  auth: XdsAuth | undefined,
  call: CallCredentials,
  cb: grpc.sendUnaryData<Res>,
  run: (caller: Caller | undefined) => void,
): void {
  if (auth === undefined) {
    run(undefined);
    return;
  }
  void auth.authenticate(call).then((a) => {
    if (a.ok) run(a.caller);
    else
      cb({
        code: grpc.status.UNAUTHENTICATED,
        details: a.reason,
        name: "Unauthenticated",
        message: a.reason,
      });
  });
}

/**
 * The node's metadata must name the caller's namespace (NAMESPACE, as Istio's proxies send it): a
 * token of namespace A gets no configuration for B. Under "required" the first request must name
 * the node, or a caller that never names one would be served without this check; under
 * "optional" the first request that names a node is checked.
 */
export function nodeNamespaceCheck(
  caller: Caller,
  rule: NodeRule,
  fail: (code: grpc.status, details: string) => void,
): (req: unknown) => boolean {
  let checked = false;
  return (req) => {
    if (checked) return true;
    const node = (req as { node?: Node__Output | null }).node;
    if (node === undefined || node === null) {
      if (rule === "optional") return true;
      checked = true;
      fail(
        grpc.status.INVALID_ARGUMENT,
        `the first request of a stream must name a node with NAMESPACE metadata (authenticated as ${describeCaller(caller)})`,
      );
      return false;
    }
    checked = true;
    const ns = structToObject(node.metadata as Parameters<typeof structToObject>[0]).NAMESPACE;
    if (ns === callerNamespace(caller)) return true;
    fail(
      grpc.status.PERMISSION_DENIED,
      `node ${node.id} claims namespace ${typeof ns === "string" ? ns : "(none)"} but authenticated as ${describeCaller(caller)}`,
    );
    return false;
  };
}
