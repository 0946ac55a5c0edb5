// Workload identity: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, Istio's format.

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export function spiffeUri(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The identity in a SPIFFE URI, or undefined unless it has exactly the five Istio segments. */
export function parseSpiffeUri(uri: string): WorkloadIdentity | undefined {
  if (!uri.startsWith("spiffe://")) return undefined;
  const parts = uri.slice("spiffe://".length).split("/");
  if (parts.length !== 5 || parts[1] !== "ns" || parts[3] !== "sa") return undefined;
  const [trustDomain, , namespace, , serviceAccount] = parts;
  if (!trustDomain || !namespace || !serviceAccount) return undefined;
  return { trustDomain, namespace, serviceAccount };
}

/** `system:serviceaccount:<ns>:<sa>`, the user name TokenReview reports for a pod's token. */
export function serviceAccountFromUsername(
  username: string,
): { namespace: string; serviceAccount: string } | undefined {
  const parts = username.split(":");
  if (parts.length !== 4 || parts[0] !== "system" || parts[1] !== "serviceaccount")
    return undefined;
  const [, , namespace, serviceAccount] = parts;
  if (!namespace || !serviceAccount) return undefined;
  return { namespace, serviceAccount };
}
