// The cluster state the xDS control plane translates into Envoy resources. Built from Services,
// EndpointSlices, Pods, the security policies, the routing state of each Rollout and the Gateway
// API routes (parsed into src/gateway/model.ts); plain data, no Kubernetes types.
import type { MeshRoute } from "../gateway/model.js";
import type { AuthorizationPolicy, PeerAuthentication } from "../policy/model.js";

export type PortProtocol = "http" | "http2" | "grpc" | "tcp";

export interface ServicePort {
  /** Port name as in the Service spec ("" if unnamed). */
  readonly name: string;
  readonly port: number;
  readonly protocol: PortProtocol;
}

export interface ServiceModel {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly ServicePort[];
}

export interface EndpointModel {
  readonly address: string;
  /** Target port per Service port name, from the EndpointSlice. */
  readonly ports: Readonly<Record<string, number>>;
  readonly ready: boolean;
  readonly zone?: string;
  readonly podName?: string;
}

export interface ServiceEndpoints {
  readonly namespace: string;
  readonly service: string;
  readonly endpoints: readonly EndpointModel[];
}

export type StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly regex: string }
  | { readonly present: true };

/** A request match as Istio's HTTPMatchRequest has it (all conditions must hold). */
export interface HttpMatch {
  readonly headers?: Readonly<Record<string, StringMatch>>;
  readonly uri?: StringMatch;
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry_on conditions, e.g. "5xx,reset,connect-failure". */
  readonly retryOn: string;
}

export interface FaultPolicy {
  readonly abort?: {
    readonly percent: number;
    readonly httpStatus?: number;
    readonly grpcStatus?: number;
  };
  readonly delay?: { readonly percent: number; readonly delayMs: number };
}

export type LoadBalancer = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH";

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancer;
  readonly connectTimeoutMs?: number;
  readonly circuitBreaker?: {
    readonly maxConnections?: number;
    readonly maxPendingRequests?: number;
    readonly maxRequests?: number;
    readonly maxRetries?: number;
  };
  readonly outlierDetection?: {
    readonly consecutive5xx: number;
    readonly intervalMs: number;
    readonly baseEjectionTimeMs: number;
    readonly maxEjectionPercent: number;
  };
}

/**
 * How traffic to one apex Service is split while a Rollout runs. The apex routes to the primary
 * and canary Services; with no Rollout a Service routes to itself.
 */
export interface RoutingModel {
  readonly namespace: string;
  /** The apex Service clients call, e.g. "podinfo". */
  readonly service: string;
  /** Services behind the apex, e.g. "podinfo-primary" and "podinfo-canary". */
  readonly primary: string;
  readonly canary: string;
  /** Canary share of unmatched traffic, 0-100; the primary gets the rest. */
  readonly canaryWeight: number;
  /** Requests matching any of these go to the canary only (A/B testing). */
  readonly canaryMatches?: readonly HttpMatch[];
  /** Percent of primary-bound traffic copied to the canary (responses discarded). */
  readonly mirrorPercent?: number;
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
  readonly trafficPolicy?: TrafficPolicy;
}

/** A pod as the security translation needs it. */
export interface PodModel {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  /** Runs vireo's proxy (a container named `vireo-proxy`). */
  readonly sidecar: boolean;
}

/**
 * Identity and policy: present when the control plane runs with its CA. Without it (the
 * --xds-insecure mode) no resource carries TLS or RBAC.
 */
export interface SecurityModel {
  /** PEM of every root currently trusted, served as SDS secret ROOTCA. */
  readonly trustBundle: string;
  readonly trustDomain: string;
  /** Where mesh-wide policies live: the controller's namespace. */
  readonly rootNamespace: string;
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
}

export interface ClusterState {
  readonly services: readonly ServiceModel[];
  readonly endpoints: readonly ServiceEndpoints[];
  readonly routing: readonly RoutingModel[];
  readonly domain?: string;
  readonly pods?: readonly PodModel[];
  readonly security?: SecurityModel;
  /** Gateway API HTTPRoutes and GRPCRoutes, parsed; those attached to a Service replace its routes. */
  readonly routes?: readonly MeshRoute[];
}

export const DEFAULT_DOMAIN = "cluster.local";
