// What the integration tests' meshed pods share: the sidecar container as a user declares it
// (docs/security.md: CA root, projected token), the volumes it mounts, and the annotations that
// have Prometheus scrape it.
import type { V1Container, V1Deployment, V1Volume } from "@kubernetes/client-node";

/** The pods' gateway: where the host, and a controller started by a test, are reachable. */
export const GATEWAY = "10.244.0.1";

const CA_DIR = "/var/run/secrets/vireo/ca";
const TOKEN_DIR = "/var/run/secrets/vireo/token";

export interface SidecarOptions {
  /** `host:port` of the controller's xDS port. */
  readonly xds: string;
  /** `port:targetPort` to serve inbound (absent: outbound only). */
  readonly inbound?: string;
  /** Plaintext, unauthenticated xDS: for a controller started with xdsInsecure. */
  readonly insecure?: boolean;
  readonly logLevel?: string;
  /** More environment, e.g. VIREO_CERT_VALIDITY_SECONDS. */
  readonly env?: Readonly<Record<string, string>>;
}

export function sidecar(o: SidecarOptions): V1Container {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  const secure = o.insecure !== true;
  return {
    name: "vireo-proxy",
    image: "vireo/proxy:dev",
    env: [
      { name: "VIREO_XDS_ADDRESS", value: o.xds },
      { name: "VIREO_LOG_LEVEL", value: o.logLevel ?? "warn" },
      ...(secure
        ? [
            { name: "VIREO_CA_ROOT", value: `${CA_DIR}/root-cert.pem` },
            { name: "VIREO_TOKEN_FILE", value: `${TOKEN_DIR}/token` },
          ]
        : []),
      ...(o.inbound === undefined ? [] : [{ name: "VIREO_INBOUND", value: o.inbound }]),
      ...Object.entries(o.env ?? {}).map(([name, value]) => ({ name, value })),
      { name: "POD_NAME", ...field("metadata.name") },
      { name: "POD_NAMESPACE", ...field("metadata.namespace") },
      { name: "POD_IP", ...field("status.podIP") },
    ],
    // The status port (pod IP): readiness and metrics; the admin port stays on loopback.
    ports: [{ name: "vireo-status", containerPort: 15020 }],
    readinessProbe: { httpGet: { path: "/ready", port: 15020 }, periodSeconds: 1 },
    ...(secure && {
      volumeMounts: [
        { name: "vireo-ca", mountPath: CA_DIR, readOnly: true },
        { name: "vireo-token", mountPath: TOKEN_DIR, readOnly: true },
      ],
    }),
  };
}

/** What a pod with a (secure) sidecar mounts: the CA root ConfigMap, a token for audience vireo. */
export const meshVolumes: V1Volume[] = [
  { name: "vireo-ca", configMap: { name: "vireo-ca-root-cert" } },
  {
    name: "vireo-token",
    projected: {
      sources: [
        { serviceAccountToken: { audience: "vireo", expirationSeconds: 3600, path: "token" } },
      ],
    },
  },
];

/** Prometheus scrapes the sidecar's metrics. */
export const scrape = {
  "prometheus.io/scrape": "true",
  "prometheus.io/port": "15020",
  "prometheus.io/path": "/stats/prometheus",
};

/** Deployment `app`: the echo app on 8080 (`args`, v1 by default), served by its sidecar on 15006. */
export function echoApp(xds: string, args: readonly string[] = ["--version=v1"]): V1Deployment {
  return meshDeployment(
    "app",
    5,
    {
      name: "app",
      image: "vireo/echo:v1",
      args: [...args],
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    },
    sidecar({ xds, inbound: "15006:8080" }),
  );
}

/** Deployment `name`: the echo app alone, no proxy (for tests of the controller, not the mesh). */
export function plainEcho(name: string, args: readonly string[] = []): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: "app",
              image: "vireo/echo:v1",
              ...(args.length === 0 ? {} : { args: [...args] }),
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

/**
 * One line per request: the status (000 when curl got none), how long it took and curl's error,
 * so that a failure says whether it was refused, reset or timed out.
 */
const CURL_FORMAT = "%{http_code} %{time_total}s %{errormsg}\\n";

/** The lines of a `curlLoad` log whose request did not end in 200. */
export function failedRequests(lines: readonly string[]): string[] {
  return lines.filter((l) => !l.startsWith("200 "));
}

/**
 * Deployment `loadgen`: `loops` curl loops sending to `url` through the pod's sidecar, as an
 * application with HTTP_PROXY would; each prints one HTTP status per line (container `load`).
 */
export function curlLoad(xds: string, url: string, loops = 1): V1Deployment {
  const loop = `while true; do curl -s -o /dev/null -m 5 -w '${CURL_FORMAT}' -x http://127.0.0.1:15001 ${url}; sleep 0.03; done`;
  const command = Array.from({ length: loops }, () => loop).join(" & ");
  return meshDeployment(
    "loadgen",
    2,
    { name: "load", image: "busybox", command: ["sh", "-c", command] },
    sidecar({ xds }),
  );
}

function meshDeployment(
  name: string,
  graceSeconds: number,
  ...containers: V1Container[]
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: scrape },
        spec: { terminationGracePeriodSeconds: graceSeconds, volumes: meshVolumes, containers },
      },
    },
  };
}
