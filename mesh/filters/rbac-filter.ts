// Authorization on the inbound request path: the RBAC filters of the connection's filter chain
// (Istio compiles DENY policies into the first, ALLOW ones into the second), evaluated in order
// before routing; the first refusal answers 403 `RBAC: access denied`, as Envoy's filter does.
import type { RbacInput, RbacRules } from "../authz/rbac.js";
import { evaluateRbac } from "../authz/rbac.js";
import type { InboundListenerConfig } from "../routing/security-model.js";
import { selectChain } from "../routing/security-model.js";
import { localReply } from "./local-reply.js";
import type { Exchange, Handler, ProxyRequest } from "./pipeline.js";

export const RBAC_DENIED_BODY = "RBAC: access denied";

function rbacInput(req: ProxyRequest): RbacInput {
  const c = req.connection;
  return {
    method: req.method,
    authority: req.authority,
    path: req.path,
    headers: req.headers,
    destinationPort: c?.localPort ?? 0,
    destinationIp: c?.localAddress ?? "",
    directRemoteIp: c?.remoteAddress ?? "",
    peerPrincipal: c?.mutualTls === true ? (c.peerPrincipal ?? "") : undefined,
  };
}

/** The RBAC rules a request is held to: its connection's chain in the listener in force now. */
export function rulesFor(
  config: InboundListenerConfig | undefined,
  req: ProxyRequest,
): readonly RbacRules[] | undefined {
  const c = req.connection;
  if (config === undefined || c === undefined) return [];
  return selectChain(config.chains, c.transport === "tls")?.rbac;
}

export function rbacFilter(
  config: () => InboundListenerConfig | undefined,
): (next: Handler) => Handler {
  return (next) => (x: Exchange) => {
    const rules = rulesFor(config(), x.request);
    // The connection's transport is no longer accepted (STRICT since it connected): refused.
    if (rules === undefined) return Promise.resolve(localReply(403, RBAC_DENIED_BODY));
    if (rules.length === 0) return next(x);
    const input = rbacInput(x.request);
    for (const r of rules) {
      if (!evaluateRbac(r, input).allowed)
        return Promise.resolve(localReply(403, RBAC_DENIED_BODY));
    }
    return next(x);
  };
}
