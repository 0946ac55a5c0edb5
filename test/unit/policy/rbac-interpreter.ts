// Envoy's RBAC filter semantics over our compiled configs, for tests: a policy matches when one
// permission and one principal match; DENY filters deny on a match, ALLOW filters deny otherwise.
import type { Permission } from "../../../src/xds/generated/envoy/config/rbac/v3/Permission.js";
import type { Principal } from "../../../src/xds/generated/envoy/config/rbac/v3/Principal.js";
import type { RBAC } from "../../../src/xds/generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type { StringMatcher } from "../../../src/xds/generated/envoy/type/matcher/v3/StringMatcher.js";
import type { AuthzRequest, Decision } from "../../../src/policy/model.js";

function str(m: StringMatcher | null | undefined, v: string): boolean {
  if (m === null || m === undefined) return false;
  if (m.exact !== undefined) return v === m.exact;
  if (m.prefix !== undefined) return v.startsWith(m.prefix);
  if (m.suffix !== undefined) return v.endsWith(m.suffix);
  if (m.safe_regex?.regex !== undefined) return new RegExp(`^(?:${m.safe_regex.regex})$`).test(v);
  throw new Error("unsupported matcher");
}

function perm(p: Permission, r: AuthzRequest): boolean {
  if (p.any === true) return true;
  if (p.and_rules) return (p.and_rules.rules ?? []).every((x) => perm(x, r));
  if (p.or_rules) return (p.or_rules.rules ?? []).some((x) => perm(x, r));
  if (p.not_rule) return !perm(p.not_rule, r);
  if (p.header) return p.header.name === ":method" && str(p.header.string_match, r.method);
  if (p.url_path) return str(p.url_path.path, r.path.split(/[?#]/, 1)[0] ?? "");
  if (p.destination_port !== undefined) return r.port === p.destination_port;
  throw new Error(`unsupported permission ${JSON.stringify(p)}`);
}

function princ(p: Principal, r: AuthzRequest): boolean {
  if (p.any === true) return true;
  if (p.and_ids) return (p.and_ids.ids ?? []).every((x) => princ(x, r));
  if (p.or_ids) return (p.or_ids.ids ?? []).some((x) => princ(x, r));
  if (p.not_id) return !princ(p.not_id, r);
  if (p.authenticated)
    return r.principal !== undefined && str(p.authenticated.principal_name, r.principal);
  throw new Error(`unsupported principal ${JSON.stringify(p)}`);
}

export function runRbac(filters: readonly RBAC[], r: AuthzRequest): Decision {
  for (const f of filters) {
    const rules = f.rules;
    if (!rules) continue;
    const matched = Object.values(rules.policies ?? {}).some(
      (p) =>
        (p.permissions ?? []).some((x) => perm(x, r)) &&
        (p.principals ?? []).some((x) => princ(x, r)),
    );
    if (rules.action === "DENY" && matched) return "deny";
    if (rules.action === "ALLOW" && !matched) return "deny";
  }
  return "allow";
}
