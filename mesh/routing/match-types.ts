// String and header matchers: shared by routes and by RBAC policies.

export type StringMatcher =
  | { readonly kind: "exact"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "prefix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "suffix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "contains"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "regex"; readonly regex: RegExp }
  | { readonly kind: "present" };

export interface HeaderMatcher {
  /** Lower-case header name; `:method`, `:authority` and `:path` are the pseudo-headers. */
  readonly name: string;
  readonly match: StringMatcher;
  readonly invert: boolean;
}
