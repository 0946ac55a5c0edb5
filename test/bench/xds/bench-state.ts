// The cluster the xDS benchmark translates: N applications spread over a few namespaces, each a
// Service with about three endpoints and one to three ports; every fourth runs a Rollout, so it
// also has -primary and -canary Services and a RoutingModel. Deterministic: no randomness.
import type {
  ClusterState,
  EndpointModel,
  RoutingModel,
  ServiceEndpoints,
  ServiceModel,
  ServicePort,
} from "../../../src/xds/model.js";

/** Canary weights a changing Rollout steps through, one per variant (variant 0 first). */
export const WEIGHT_STEPS: readonly number[] = [0, 10, 25, 50, 75];

const NAMESPACES = 10;
const ZONES = ["zone-a", "zone-b", "zone-c"];

export interface BenchApp {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly ServicePort[];
  readonly rollout: boolean;
}

export function benchApps(count: number): BenchApp[] {
  const apps: BenchApp[] = [];
  for (let i = 0; i < count; i++) {
    const ports: ServicePort[] = [{ name: "http", port: 8080, protocol: "http" }];
    if (i % 3 === 1) ports.push({ name: "grpc", port: 9090, protocol: "grpc" });
    if (i % 10 === 7) ports.push({ name: "db", port: 5432, protocol: "tcp" });
    apps.push({
      namespace: `team-${i % NAMESPACES}`,
      name: `svc-${String(i).padStart(3, "0")}`,
      ports,
      rollout: i % 4 === 0,
    });
  }
  return apps;
}

/**
 * The state of variant `variant`: the first `changing` Rollouts take weight
 * WEIGHT_STEPS[variant]; every other Rollout keeps a fixed weight.
 */
export function benchState(
  apps: readonly BenchApp[],
  variant: number,
  changing: number,
): ClusterState {
  const services: ServiceModel[] = [];
  const endpoints: ServiceEndpoints[] = [];
  const routing: RoutingModel[] = [];
  let pod = 0;
  const pods = (app: BenchApp, service: string, count: number): ServiceEndpoints => {
    const eps: EndpointModel[] = [];
    for (let j = 0; j < count; j++, pod++) {
      eps.push({
        address: `10.${16 + (pod >> 16)}.${(pod >> 8) & 255}.${pod & 255}`,
        ports: Object.fromEntries(app.ports.map((p) => [p.name, p.port])),
        ready: j !== 3,
        zone: ZONES[pod % ZONES.length] ?? "zone-a",
        podName: `${service}-7d9c${String(pod).padStart(5, "0")}`,
      });
    }
    return { namespace: app.namespace, service, endpoints: eps };
  };
  let rollouts = 0;
  for (const app of apps) {
    services.push({ namespace: app.namespace, name: app.name, ports: app.ports });
    if (!app.rollout) {
      endpoints.push(pods(app, app.name, 3));
      continue;
    }
    const primary = `${app.name}-primary`;
    const canary = `${app.name}-canary`;
    services.push({ namespace: app.namespace, name: primary, ports: app.ports });
    services.push({ namespace: app.namespace, name: canary, ports: app.ports });
    const primaryPods = pods(app, primary, 3);
    endpoints.push({ ...primaryPods, service: app.name }, primaryPods, pods(app, canary, 1));
    const r = rollouts++;
    routing.push({
      namespace: app.namespace,
      service: app.name,
      primary,
      canary,
      canaryWeight:
        r < changing ? (WEIGHT_STEPS[variant % WEIGHT_STEPS.length] ?? 0) : (r * 7) % 60,
      timeoutMs: 5000,
      retries: { attempts: 2, perTryTimeoutMs: 1000, retryOn: "5xx,reset,connect-failure" },
      ...(r % 3 === 1 ? { canaryMatches: [{ headers: { "x-canary": { exact: "always" } } }] } : {}),
      ...(r % 5 === 2 ? { mirrorPercent: 10 } : {}),
      trafficPolicy: {
        loadBalancer: "LEAST_REQUEST",
        connectTimeoutMs: 1000,
        circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
        outlierDetection: {
          consecutive5xx: 5,
          intervalMs: 10_000,
          baseEjectionTimeMs: 30_000,
          maxEjectionPercent: 50,
        },
      },
    });
  }
  return { services, endpoints, routing };
}
