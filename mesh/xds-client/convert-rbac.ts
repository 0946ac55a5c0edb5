// The HTTP RBAC filter's config (envoy.extensions.filters.http.rbac.v3.RBAC) as the model's
// rules. Anything the proxy cannot evaluate exactly (CEL conditions, metadata, matcher trees)
// rejects the resource, since a partial policy would allow or deny the wrong requests.
import { isIP } from "node:net";
import type { CidrRange__Output } from "../../src/xds/generated/envoy/config/core/v3/CidrRange.js";
import type { Permission__Output } from "../../src/xds/generated/envoy/config/rbac/v3/Permission.js";
import type { Policy__Output } from "../../src/xds/generated/envoy/config/rbac/v3/Policy.js";
import type { Principal__Output } from "../../src/xds/generated/envoy/config/rbac/v3/Principal.js";
import type { RBAC__Output as HttpRbac__Output } from "../../src/xds/generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type { PathMatcher__Output } from "../../src/xds/generated/envoy/type/matcher/v3/PathMatcher.js";
import type { Cidr, Permission, Principal, RbacPolicy, RbacRules } from "../authz/rbac.js";
import type { StringMatcher } from "../routing/model.js";
import { headerMatcher, stringMatcher } from "./convert-match.js";
import { fail } from "./proto-values.js";

/** Nesting beyond this is refused: policies are compiled by a control plane, not hand-written. */
const MAX_DEPTH = 32;

function cidr(c: CidrRange__Output | null | undefined, what: string): Cidr {
  if (c === null || c === undefined) fail(`${what}: no CIDR range`);
  const family = isIP(c.address_prefix);
  if (family === 0) fail(`${what}: ${c.address_prefix} is not an IP address`);
  const prefixLen = c.prefix_len?.value ?? (family === 4 ? 32 : 128);
  if (prefixLen > (family === 4 ? 32 : 128)) fail(`${what}: prefix_len ${prefixLen} too long`);
  return { address: c.address_prefix, prefixLen };
}

function urlPath(p: PathMatcher__Output | null | undefined, what: string): StringMatcher {
  if (p?.path === null || p?.path === undefined) fail(`${what}: url_path sets no path`);
  return stringMatcher(p.path, `${what} url_path`);
}

function permission(p: Permission__Output, depth: number): Permission {
  if (depth > MAX_DEPTH) fail("permission nested too deeply");
  const nested = (rules: readonly Permission__Output[]): Permission[] =>
    rules.map((r) => permission(r, depth + 1));
  switch (p.rule) {
    case "any":
      if (p.any !== true) fail("permission any must be true");
      return { kind: "always" };
    case "and_rules":
      return { kind: "and", rules: nested(p.and_rules?.rules ?? []) };
    case "or_rules":
      return { kind: "or", rules: nested(p.or_rules?.rules ?? []) };
    case "not_rule":
      if (p.not_rule === null || p.not_rule === undefined) fail("not_rule is empty");
      return { kind: "not", rule: permission(p.not_rule, depth + 1) };
    case "header":
      if (p.header === null || p.header === undefined) fail("permission header is empty");
      return { kind: "header", matcher: headerMatcher(p.header) };
    case "url_path":
      return { kind: "url_path", matcher: urlPath(p.url_path, "permission") };
    case "destination_port": {
      const port = p.destination_port ?? 0;
      if (port > 65535) fail(`destination_port ${port} is not a port`);
      return { kind: "destination_port", port };
    }
    case "destination_ip":
      return { kind: "destination_ip", cidr: cidr(p.destination_ip, "destination_ip") };
    case "destination_port_range":
    case "metadata":
    case "requested_server_name":
    case "matcher":
    case "uri_template":
      return fail(`permission ${p.rule} is not supported`);
    case undefined:
      return fail("permission sets no rule");
  }
}

function principal(p: Principal__Output, depth: number): Principal {
  if (depth > MAX_DEPTH) fail("principal nested too deeply");
  const nested = (ids: readonly Principal__Output[]): Principal[] =>
    ids.map((r) => principal(r, depth + 1));
  switch (p.identifier) {
    case "any":
      if (p.any !== true) fail("principal any must be true");
      return { kind: "always" };
    case "and_ids":
      return { kind: "and", ids: nested(p.and_ids?.ids ?? []) };
    case "or_ids":
      return { kind: "or", ids: nested(p.or_ids?.ids ?? []) };
    case "not_id":
      if (p.not_id === null || p.not_id === undefined) fail("not_id is empty");
      return { kind: "not", id: principal(p.not_id, depth + 1) };
    case "authenticated": {
      const name = p.authenticated?.principal_name;
      return name === null || name === undefined
        ? { kind: "authenticated" }
        : { kind: "authenticated", name: stringMatcher(name, "principal_name") };
    }
    case "direct_remote_ip":
      return { kind: "direct_remote_ip", cidr: cidr(p.direct_remote_ip, "direct_remote_ip") };
    // Without trusted proxies in front, the source and remote address are the direct one.
    case "source_ip":
      return { kind: "direct_remote_ip", cidr: cidr(p.source_ip, "source_ip") };
    case "remote_ip":
      return { kind: "direct_remote_ip", cidr: cidr(p.remote_ip, "remote_ip") };
    case "header":
      if (p.header === null || p.header === undefined) fail("principal header is empty");
      return { kind: "header", matcher: headerMatcher(p.header) };
    case "url_path":
      return { kind: "url_path", matcher: urlPath(p.url_path, "principal") };
    case "metadata":
    case "filter_state":
      return fail(`principal ${p.identifier} is not supported`);
    case undefined:
      return fail("principal sets no identifier");
  }
}

function policy(name: string, p: Policy__Output): RbacPolicy {
  if (p.condition !== null || p.checked_condition !== null)
    fail(`policy ${name}: CEL conditions are not supported`);
  try {
    return {
      name,
      permissions: p.permissions.map((x) => permission(x, 0)),
      principals: p.principals.map((x) => principal(x, 0)),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return fail(`policy ${name}: ${message}`);
  }
}

/** The filter's rules; undefined when it sets none (Envoy's filter then lets everything by). */
export function rbacRules(config: HttpRbac__Output): RbacRules | undefined {
  if (config.matcher !== null) fail("RBAC matcher trees are not supported (use rules)");
  const rules = config.rules;
  if (rules === null) return undefined;
  const action = rules.action;
  const names = Object.keys(rules.policies).sort();
  return {
    action,
    policies: names.map((n) => policy(n, rules.policies[n] ?? fail(`policy ${n} is empty`))),
  };
}
