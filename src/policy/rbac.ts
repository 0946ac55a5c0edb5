// AuthorizationPolicies to Envoy RBAC HTTP filter configs, Istio's layout: one filter with the
// DENY policies (action DENY) and after it one with the ALLOW policies (action ALLOW), each only
// when such policies apply. An ALLOW policy without rules adds no Envoy policy, so the ALLOW
// filter denies what nothing else allows, exactly as the evaluator does.
import type { Permission } from "../xds/generated/envoy/config/rbac/v3/Permission.js";
import type { Policy } from "../xds/generated/envoy/config/rbac/v3/Policy.js";
import type { Principal } from "../xds/generated/envoy/config/rbac/v3/Principal.js";
import type { RBAC } from "../xds/generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type { StringMatcher } from "../xds/generated/envoy/type/matcher/v3/StringMatcher.js";
import { namespaceRegex } from "./evaluate.js";
import type { Action, AuthorizationPolicy, Field, Operation, Rule, Source } from "./model.js";

/** The RBAC filter configs for a workload, in filter-chain order (DENY, then ALLOW). */
export function compileRbac(policies: readonly AuthorizationPolicy[]): RBAC[] {
  const out: RBAC[] = [];
  for (const action of ["DENY", "ALLOW"] as const satisfies readonly Action[]) {
    const of = policies
      .filter((p) => p.action === action)
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    if (of.length === 0) continue;
    const compiled: Record<string, Policy> = {};
    for (const p of of) {
      p.rules.forEach((r, i) => {
        compiled[`ns[${p.namespace}]-policy[${p.name}]-rule[${String(i)}]`] = rulePolicy(r);
      });
    }
    out.push({ rules: { action, policies: compiled } });
  }
  return out;
}

function rulePolicy(r: Rule): Policy {
  return {
    permissions: r.to === undefined ? [{ any: true }] : r.to.map(operationPermission),
    principals: r.from === undefined ? [{ any: true }] : r.from.map(sourcePrincipal),
  };
}

function and<T>(items: T[], wrap: (items: T[]) => T, whenEmpty: T): T {
  return items.length === 0 ? whenEmpty : wrap(items);
}

function operationPermission(o: Operation): Permission {
  const clauses: Permission[] = [];
  const add = (f: Field | undefined, one: (v: string) => Permission): void => {
    if (f?.values !== undefined && f.values.length > 0)
      clauses.push({ or_rules: { rules: f.values.map(one) } });
    if (f?.notValues !== undefined && f.notValues.length > 0)
      clauses.push({ not_rule: { or_rules: { rules: f.notValues.map(one) } } });
  };
  add(o.methods, (v) => ({ header: { name: ":method", string_match: stringMatcher(v) } }));
  add(o.paths, (v) => ({ url_path: { path: stringMatcher(v) } }));
  add(o.ports, (v) => ({ destination_port: Number(v) }));
  return and(clauses, (rules) => ({ and_rules: { rules } }), { any: true });
}

function sourcePrincipal(s: Source): Principal {
  const clauses: Principal[] = [];
  const add = (f: Field | undefined, one: (v: string) => Principal): void => {
    if (f?.values !== undefined && f.values.length > 0)
      clauses.push({ or_ids: { ids: f.values.map(one) } });
    if (f?.notValues !== undefined && f.notValues.length > 0)
      clauses.push({ not_id: { or_ids: { ids: f.notValues.map(one) } } });
  };
  add(s.principals, (v) => ({ authenticated: { principal_name: principalMatcher(v) } }));
  add(s.namespaces, (v) => ({
    authenticated: { principal_name: { safe_regex: { regex: namespaceRegex(v) } } },
  }));
  return and(clauses, (ids) => ({ and_ids: { ids } }), { any: true });
}

/** Istio's translation of a value: `*` presence, `x*` prefix, `*x` suffix, else exact. */
export function stringMatcher(v: string): StringMatcher {
  if (v === "*") return { safe_regex: { regex: ".+" } };
  if (v.endsWith("*")) return { prefix: v.slice(0, -1) };
  if (v.startsWith("*")) return { suffix: v.slice(1) };
  return { exact: v };
}

/** Principals are matched against the full SPIFFE URI. */
function principalMatcher(v: string): StringMatcher {
  if (v === "*") return { safe_regex: { regex: ".+" } };
  if (v.startsWith("*")) {
    const suffix = v.slice(1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return { safe_regex: { regex: `spiffe://.*${suffix}` } };
  }
  return stringMatcher(`spiffe://${v}`);
}
