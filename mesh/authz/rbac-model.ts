// Envoy's RBAC configuration (envoy.config.rbac.v3) as the proxy holds it once validated.
import type { HeaderMatcher, StringMatcher } from "../routing/match-types.js";

export interface Cidr {
  readonly address: string;
  readonly prefixLen: number;
}

export type Permission =
  | { readonly kind: "always" }
  | { readonly kind: "and"; readonly rules: readonly Permission[] }
  | { readonly kind: "or"; readonly rules: readonly Permission[] }
  | { readonly kind: "not"; readonly rule: Permission }
  | { readonly kind: "header"; readonly matcher: HeaderMatcher }
  | { readonly kind: "url_path"; readonly matcher: StringMatcher }
  | { readonly kind: "destination_port"; readonly port: number }
  | { readonly kind: "destination_ip"; readonly cidr: Cidr };

export type Principal =
  | { readonly kind: "always" }
  | { readonly kind: "and"; readonly ids: readonly Principal[] }
  | { readonly kind: "or"; readonly ids: readonly Principal[] }
  | { readonly kind: "not"; readonly id: Principal }
  /** A peer certificate whose principal matches; any peer certificate without a matcher. */
  | { readonly kind: "authenticated"; readonly name?: StringMatcher }
  | { readonly kind: "direct_remote_ip"; readonly cidr: Cidr }
  | { readonly kind: "header"; readonly matcher: HeaderMatcher }
  | { readonly kind: "url_path"; readonly matcher: StringMatcher };

export interface RbacPolicy {
  readonly name: string;
  readonly permissions: readonly Permission[];
  readonly principals: readonly Principal[];
}

/** LOG only marks requests: it never refuses one. */
export type RbacAction = "ALLOW" | "DENY" | "LOG";

export interface RbacRules {
  readonly action: RbacAction;
  /** In name order, as Envoy iterates its policy map. */
  readonly policies: readonly RbacPolicy[];
}
