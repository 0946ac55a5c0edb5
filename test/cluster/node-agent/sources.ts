// What the agent reads from the API server besides pods: ConfigMaps, Secrets and tokens.
import type { V1ConfigMap, V1Pod, V1Secret } from "@kubernetes/client-node";

export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** A service-account token bound to the pod, as the kubelet requests through TokenRequest. */
  token(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<IssuedToken>;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Thrown when a pod references something that does not exist and is not optional. */
export class MissingReferenceError extends Error {
  override readonly name = "MissingReferenceError";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
