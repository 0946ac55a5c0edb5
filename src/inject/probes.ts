// Kubelet probes through the proxy (Istio's app-probe rewriting): an app container's httpGet or
// tcpSocket probe becomes `GET :15020/app-health/<container>/<kind>` on the proxy's status port,
// which is never captured, and the proxy runs the original probe against 127.0.0.1 from inside the
// pod. So STRICT mutual TLS does not refuse the kubelet, and a TCP probe is not answered by the
// proxy's own listener alone.
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import { STATUS_PORT } from "./names.js";

export type ProbeKind = "livez" | "readyz" | "startupz";

const FIELDS: readonly (readonly [keyof V1Container & `${string}Probe`, ProbeKind])[] = [
  ["livenessProbe", "livez"],
  ["readinessProbe", "readyz"],
  ["startupProbe", "startupz"],
];

/** What the proxy runs for one rewritten path (VIREO_APP_PROBES), named ports resolved. */
export type AppProbe =
  | {
      readonly httpGet: {
        readonly path: string;
        readonly port: number;
        readonly scheme: string;
        readonly host?: string;
        readonly httpHeaders?: readonly { readonly name: string; readonly value: string }[];
      };
      readonly timeoutSeconds?: number;
    }
  | { readonly tcpSocket: { readonly port: number }; readonly timeoutSeconds?: number };

export interface RewrittenProbes {
  readonly container: V1Container;
  readonly probes: Readonly<Record<string, AppProbe>>;
  /** Probes left as they were, and why. */
  readonly warnings: readonly string[];
}

function resolvePort(c: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  if (port === undefined) return undefined;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export function rewriteProbes(c: V1Container): RewrittenProbes {
  const probes: Record<string, AppProbe> = {};
  const warnings: string[] = [];
  const out: V1Container = { ...c };
  for (const [field, kind] of FIELDS) {
    const probe: V1Probe | undefined = c[field];
    if (probe === undefined) continue;
    const path = `/app-health/${c.name}/${kind}`;
    const timeout =
      probe.timeoutSeconds === undefined ? {} : { timeoutSeconds: probe.timeoutSeconds };
    let original: AppProbe;
    if (probe.httpGet !== undefined) {
      const port = resolvePort(c, probe.httpGet.port);
      if (port === undefined) {
        warnings.push(
          `container ${c.name}: ${field} names port "${String(probe.httpGet.port)}", which the container does not declare; left unchanged`,
        );
        continue;
      }
      original = {
        httpGet: {
          path: probe.httpGet.path ?? "/",
          port,
          scheme: probe.httpGet.scheme ?? "HTTP",
          ...(probe.httpGet.host === undefined ? {} : { host: probe.httpGet.host }),
          ...(probe.httpGet.httpHeaders === undefined
            ? {}
            : { httpHeaders: probe.httpGet.httpHeaders }),
        },
        ...timeout,
      };
    } else if (probe.tcpSocket !== undefined) {
      const port = resolvePort(c, probe.tcpSocket.port);
      if (port === undefined) {
        warnings.push(
          `container ${c.name}: ${field} names port "${String(probe.tcpSocket.port)}", which the container does not declare; left unchanged`,
        );
        continue;
      }
      original = { tcpSocket: { port }, ...timeout };
    } else {
      // exec runs inside the container and is not captured; grpc probes are (documented).
      continue;
    }
    probes[path] = original;
    const rewritten: V1Probe = { ...probe, httpGet: { path, port: STATUS_PORT, scheme: "HTTP" } };
    delete rewritten.tcpSocket;
    out[field] = rewritten;
  }
  return { container: out, probes, warnings };
}
