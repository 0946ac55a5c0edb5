// Envoy's RBAC semantics (envoy.config.rbac.v3) over one request: a policy matches when any of
// its permissions and any of its principals match; ALLOW admits only what some policy matches,
// DENY refuses what some policy matches. Pure: the request's attributes come in as a value.
import { BlockList, isIP } from "node:net";
import type { IncomingHttpHeaders } from "node:http";
import { matchHeader, matchString } from "../routing/matchers.js";
import type { Cidr, Permission, Principal, RbacPolicy, RbacRules } from "./rbac-model.js";

export type {
  Cidr,
  Permission,
  Principal,
  RbacAction,
  RbacPolicy,
  RbacRules,
} from "./rbac-model.js";

/** What one request offers to the rules. */
export interface RbacInput {
  readonly method: string;
  readonly authority: string;
  /** `:path`, query included. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly destinationPort: number;
  readonly destinationIp: string;
  readonly directRemoteIp: string;
  /**
   * The peer certificate's principal (its URI SAN) when the connection is mutual TLS; "" for a
   * peer certificate without one; undefined without a peer certificate.
   */
  readonly peerPrincipal: string | undefined;
}

export type RbacDecision =
  | { readonly allowed: true; readonly policy?: string }
  | { readonly allowed: false; readonly policy?: string };

function pathOnly(path: string): string {
  const i = path.search(/[?#]/);
  return i === -1 ? path : path.slice(0, i);
}

function inCidr(ip: string, cidr: Cidr): boolean {
  const family = isIP(ip);
  const cidrFamily = isIP(cidr.address);
  if (family === 0 || family !== cidrFamily) return false;
  const list = new BlockList();
  const type = family === 4 ? "ipv4" : "ipv6";
  list.addSubnet(cidr.address, cidr.prefixLen, type);
  return list.check(ip, type);
}

export function matchPermission(p: Permission, r: RbacInput): boolean {
  switch (p.kind) {
    case "always":
      return true;
    case "and":
      return p.rules.every((x) => matchPermission(x, r));
    case "or":
      return p.rules.some((x) => matchPermission(x, r));
    case "not":
      return !matchPermission(p.rule, r);
    case "header":
      return matchHeader(p.matcher, r);
    case "url_path":
      return matchString(p.matcher, pathOnly(r.path));
    case "destination_port":
      return r.destinationPort === p.port;
    case "destination_ip":
      return inCidr(r.destinationIp, p.cidr);
  }
}

export function matchPrincipal(p: Principal, r: RbacInput): boolean {
  switch (p.kind) {
    case "always":
      return true;
    case "and":
      return p.ids.every((x) => matchPrincipal(x, r));
    case "or":
      return p.ids.some((x) => matchPrincipal(x, r));
    case "not":
      return !matchPrincipal(p.id, r);
    case "authenticated":
      if (r.peerPrincipal === undefined) return false;
      return p.name === undefined || matchString(p.name, r.peerPrincipal);
    case "direct_remote_ip":
      return inCidr(r.directRemoteIp, p.cidr);
    case "header":
      return matchHeader(p.matcher, r);
    case "url_path":
      return matchString(p.matcher, pathOnly(r.path));
  }
}

export function matchPolicy(p: RbacPolicy, r: RbacInput): boolean {
  return (
    p.permissions.some((x) => matchPermission(x, r)) &&
    p.principals.some((x) => matchPrincipal(x, r))
  );
}

/** One RBAC filter's decision: the first matching policy names the reason. */
export function evaluateRbac(rules: RbacRules, r: RbacInput): RbacDecision {
  const matched = rules.policies.find((p) => matchPolicy(p, r));
  switch (rules.action) {
    case "ALLOW":
      return matched === undefined ? { allowed: false } : { allowed: true, policy: matched.name };
    case "DENY":
      return matched === undefined ? { allowed: true } : { allowed: false, policy: matched.name };
    case "LOG":
      return { allowed: true };
  }
}
