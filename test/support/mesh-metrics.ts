// A stand-in for vireo's proxies as Prometheus sees them: an HTTP server on port 0 exposing
// vireo_requests_total and the vireo_request_duration_milliseconds histogram, with the Istio label
// set, for workloads receiving traffic at chosen rates, error shares and latencies. Counters grow
// with real time, so a rate over any window is exactly the chosen one.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Bucket upper bounds in ms (plus +Inf), Envoy's defaults up to 5 s. */
export const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

export interface Traffic {
  readonly namespace: string;
  readonly workload: string;
  /** Who reports the requests: the receiving proxy (what the checks count) unless told. */
  readonly reporter?: "destination" | "source";
  readonly rps: number;
  /**
   * Share of responses by status code; the rest are 200. A key "200 grpc 13" is a gRPC answer:
   * HTTP 200 with grpc-status 13 (request_protocol grpc).
   */
  readonly codes?: Readonly<Record<string, number>>;
  /** Share of requests by bucket upper bound (one of BUCKETS_MS); the shares add up to 1. */
  readonly latency: readonly (readonly [le: number, share: number])[];
}

export interface MeshMetrics {
  /** `127.0.0.1:port`, for a scrape config. */
  readonly target: string;
  /** Replaces a workload's traffic (same namespace, workload and reporter) from now on. */
  set(traffic: Traffic): void;
  close(): Promise<void>;
}

interface State {
  traffic: Traffic;
  /** Requests so far. */
  requests: number;
  at: number;
}

const key = (t: Traffic) => `${t.reporter ?? "destination"}/${t.namespace}/${t.workload}`;

export async function startMeshMetrics(traffic: readonly Traffic[]): Promise<MeshMetrics> {
  const states = new Map<string, State>();
  const advance = (now: number) => {
    for (const s of states.values()) {
      s.requests += (s.traffic.rps * (now - s.at)) / 1000;
      s.at = now;
    }
  };
  const set = (t: Traffic) => {
    advance(Date.now());
    const prev = states.get(key(t));
    states.set(key(t), { traffic: t, requests: prev?.requests ?? 0, at: Date.now() });
  };
  traffic.forEach(set);
  const server = http.createServer((req, res) => {
    advance(Date.now());
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(exposition([...states.values()]));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function exposition(states: readonly State[]): string {
  const counters = ["# TYPE vireo_requests_total counter"];
  const histogram = ["# TYPE vireo_request_duration_milliseconds histogram"];
  for (const { traffic: t, requests } of states) {
    const errorShare = Object.values(t.codes ?? {}).reduce((a, b) => a + b, 0);
    const codes: [string, number][] = [["200", 1 - errorShare], ...Object.entries(t.codes ?? {})];
    for (const [code, share] of codes) {
      const n = requests * share;
      const labels = labelSet(t, code);
      counters.push(`vireo_requests_total{${labels}} ${n}`);
      let cumulative = 0;
      let sum = 0;
      let previous = 0;
      for (const le of BUCKETS_MS) {
        const inBucket = t.latency.find(([bound]) => bound === le)?.[1] ?? 0;
        cumulative += inBucket;
        sum += inBucket * ((previous + le) / 2);
        previous = le;
        histogram.push(
          `vireo_request_duration_milliseconds_bucket{${labels},le="${le}"} ${n * cumulative}`,
        );
      }
      histogram.push(`vireo_request_duration_milliseconds_bucket{${labels},le="+Inf"} ${n}`);
      histogram.push(`vireo_request_duration_milliseconds_sum{${labels}} ${n * sum}`);
      histogram.push(`vireo_request_duration_milliseconds_count{${labels}} ${n}`);
    }
  }
  return `${[...counters, ...histogram].join("\n")}\n`;
}

function labelSet(t: Traffic, key: string): string {
  const [code = key, , grpcStatus = ""] = key.split(" ");
  const service = t.workload.replace(/-primary$/, "");
  const labels: Record<string, string> = {
    reporter: t.reporter ?? "destination",
    source_workload: "loadtester",
    source_workload_namespace: t.namespace,
    source_principal: `spiffe://cluster.local/ns/${t.namespace}/sa/loadtester`,
    destination_workload: t.workload,
    destination_workload_namespace: t.namespace,
    destination_service: `${service}.${t.namespace}.svc.cluster.local`,
    destination_version: "unknown",
    request_protocol: grpcStatus === "" ? "http" : "grpc",
    response_code: code,
    grpc_response_status: grpcStatus,
    response_flags: "-",
    connection_security_policy: "mutual_tls",
  };
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
}
