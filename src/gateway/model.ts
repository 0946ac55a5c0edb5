// Gateway API routes (HTTPRoute, GRPCRoute) as vireo's mesh reads them: plain data with every
// default of the v1 API filled in, no Kubernetes types. A rule the mesh cannot implement keeps
// its place with the reason, so status can say which rules were dropped (PartiallyInvalid).
// Semantics: shared/research/gateway-api.md §2-§4 (Gateway API v1.6.3, GEP-1294 for the mesh).

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
/** The controllerName of the entries vireo writes in a route's `status.parents`. */
export const MESH_CONTROLLER = "vireo.dev/mesh";

export type RouteKind = "HTTPRoute" | "GRPCRoute";

/** A parentRef with its defaults written out (the suite compares group and kind explicitly). */
export interface ParentRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  readonly sectionName?: string;
}

export interface BackendRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  /** 0-1,000,000; the share is weight / sum of the rule's weights. */
  readonly weight: number;
}

export type PathMatch =
  | { readonly type: "Exact"; readonly value: string }
  | { readonly type: "PathPrefix"; readonly value: string }
  | { readonly type: "RegularExpression"; readonly value: string };

export interface ValueMatch {
  readonly name: string;
  readonly type: "Exact" | "RegularExpression";
  readonly value: string;
}

/**
 * One match: every condition must hold; a rule's matches are ORed. A rule written without matches
 * gets one that matches anything (for an HTTPRoute, PathPrefix "/").
 */
export interface RouteMatch {
  readonly path?: PathMatch;
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method?: string;
}

export interface HeaderModifier {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export type PathModifier =
  | { readonly type: "ReplaceFullPath"; readonly value: string }
  | { readonly type: "ReplacePrefixMatch"; readonly value: string };

export type RouteFilter =
  | ({ readonly type: "RequestHeaderModifier" } & HeaderModifier)
  | ({ readonly type: "ResponseHeaderModifier" } & HeaderModifier)
  | {
      readonly type: "RequestRedirect";
      readonly scheme?: "http" | "https";
      readonly hostname?: string;
      readonly path?: PathModifier;
      readonly port?: number;
      readonly statusCode: number;
    }
  | { readonly type: "URLRewrite"; readonly hostname?: string; readonly path?: PathModifier }
  | { readonly type: "RequestMirror"; readonly backend: BackendRef; readonly percent: number };

export interface RouteRule {
  readonly name?: string;
  readonly matches: readonly RouteMatch[];
  readonly filters: readonly RouteFilter[];
  readonly backends: readonly BackendRef[];
  /** `timeouts.request` and `timeouts.backendRequest`; 0 disables. */
  readonly requestTimeoutMs?: number;
  readonly backendRequestTimeoutMs?: number;
  /** Why the mesh cannot implement this rule; such a rule is dropped, the others stay. */
  readonly unsupported?: string;
}

export interface MeshRoute {
  readonly kind: RouteKind;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  /** RFC 3339; the older route wins a precedence tie. */
  readonly created: string;
  readonly parents: readonly ParentRef[];
  readonly rules: readonly RouteRule[];
}

/** A route's parent entry as vireo writes it in `status.parents`. */
export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName: string;
  readonly conditions: readonly RouteCondition[];
}

export interface RouteCondition {
  readonly type: "Accepted" | "ResolvedRefs" | "PartiallyInvalid";
  readonly status: "True" | "False";
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}
