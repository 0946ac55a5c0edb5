// Authorization and peer-authentication policies as the control plane uses them: plain data,
// parsed once from the CRDs (parse.ts). Semantics are Istio's (research/mesh-semantics.md §1-2).

export type Action = "ALLOW" | "DENY";

/** Values of one field: OR inside `values`, and NOT(OR) of `notValues`; both must hold. */
export interface Field {
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface Source {
  readonly principals?: Field;
  readonly namespaces?: Field;
}

export interface Operation {
  readonly methods?: Field;
  readonly paths?: Field;
  readonly ports?: Field;
}

/** Matches when one `from` AND one `to` match; an absent list matches anything. */
export interface Rule {
  readonly from?: readonly Source[];
  readonly to?: readonly Operation[];
}

export interface AuthorizationPolicy {
  readonly namespace: string;
  readonly name: string;
  /** Pod labels the policy applies to; absent means every workload of its namespace. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly action: Action;
  /** No rules: the policy never matches (an ALLOW with no rules allows nothing). */
  readonly rules: readonly Rule[];
}

export interface AuthzRequest {
  /** The peer's SPIFFE URI (spiffe://…), absent for a plaintext peer. */
  readonly principal?: string;
  readonly method: string;
  /** The request path; a query string or fragment is ignored. */
  readonly path: string;
  readonly port: number;
}

export type Decision = "allow" | "deny";

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

export interface PeerAuthentication {
  readonly namespace: string;
  readonly name: string;
  readonly selector?: Readonly<Record<string, string>>;
  /** Absent (UNSET): inherit. */
  readonly mode?: MtlsMode;
  /** Per workload port; absent mode inherits the policy's. */
  readonly portLevelMtls?: Readonly<Record<string, MtlsMode | undefined>>;
  /** For the oldest-wins rule within a level. */
  readonly createdAt: number;
}

/** Whether a selector's labels all appear on the pod. */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
