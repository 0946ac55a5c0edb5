// Pure evaluation of AuthorizationPolicy with Istio's semantics: DENY first, then no ALLOW means
// allow, any matching ALLOW allows, else deny. The RBAC filter compiled from the same policies
// (rbac.ts) must decide the same; unit tests check both against one table.
import type {
  AuthorizationPolicy,
  AuthzRequest,
  Decision,
  Field,
  Operation,
  Rule,
  Source,
} from "./model.js";
import { selects } from "./model.js";

/**
 * Policies that apply to a workload: its namespace's (all, or those whose selector matches its
 * labels) and the root namespace's (mesh-wide).
 */
export function policiesFor(
  all: readonly AuthorizationPolicy[],
  namespace: string,
  labels: Readonly<Record<string, string>>,
  rootNamespace: string,
): AuthorizationPolicy[] {
  return all.filter(
    (p) =>
      (p.namespace === namespace || p.namespace === rootNamespace) && selects(p.selector, labels),
  );
}

export function decide(policies: readonly AuthorizationPolicy[], req: AuthzRequest): Decision {
  if (policies.some((p) => p.action === "DENY" && policyMatches(p, req))) return "deny";
  const allows = policies.filter((p) => p.action === "ALLOW");
  if (allows.length === 0) return "allow";
  return allows.some((p) => policyMatches(p, req)) ? "allow" : "deny";
}

export function policyMatches(p: AuthorizationPolicy, req: AuthzRequest): boolean {
  return p.rules.some((r) => ruleMatches(r, req));
}

function ruleMatches(r: Rule, req: AuthzRequest): boolean {
  const fromOk = r.from === undefined || r.from.some((s) => sourceMatches(s, req));
  const toOk = r.to === undefined || r.to.some((o) => operationMatches(o, req));
  return fromOk && toOk;
}

function sourceMatches(s: Source, req: AuthzRequest): boolean {
  return (
    fieldMatches(s.principals, req.principal, principalMatches) &&
    fieldMatches(s.namespaces, req.principal, namespaceMatches)
  );
}

function operationMatches(o: Operation, req: AuthzRequest): boolean {
  const path = req.path.split(/[?#]/, 1)[0] ?? "";
  return (
    fieldMatches(o.methods, req.method, stringMatches) &&
    fieldMatches(o.paths, path, stringMatches) &&
    fieldMatches(o.ports, String(req.port), (pattern, v) => v === pattern)
  );
}

function fieldMatches(
  f: Field | undefined,
  value: string | undefined,
  match: (pattern: string, value: string) => boolean,
): boolean {
  if (f === undefined) return true;
  const has = (patterns: readonly string[]): boolean =>
    value !== undefined && value !== "" && patterns.some((p) => match(p, value));
  const positive = f.values === undefined || f.values.length === 0 || has(f.values);
  const negative = f.notValues === undefined || f.notValues.length === 0 || !has(f.notValues);
  return positive && negative;
}

/** Istio's four forms: exact, `prefix*`, `*suffix`, and `*` (any non-empty value). */
export function stringMatches(pattern: string, value: string): boolean {
  if (pattern === "*") return value !== "";
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

/** Principals are written without the scheme and matched against the peer's SPIFFE URI. */
function principalMatches(pattern: string, uri: string): boolean {
  if (pattern === "*") return uri !== "";
  if (pattern.startsWith("*")) return uri.startsWith("spiffe://") && uri.endsWith(pattern.slice(1));
  return stringMatches(`spiffe://${pattern}`, uri);
}

/** Namespaces match the `/ns/<ns>/` segment of the peer's URI; `*` inside spans any text. */
export function namespaceRegex(pattern: string): string {
  const body = pattern
    .split("*")
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return `.*/ns/${body}/.*`;
}

function namespaceMatches(pattern: string, uri: string): boolean {
  return new RegExp(`^${namespaceRegex(pattern)}$`).test(uri);
}
