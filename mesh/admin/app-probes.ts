// Probe rewriting, the proxy's half: the injector rewrites an app container's probes to
// `GET :15020/app-health/<container>/<livez|readyz|startupz>` and hands the originals to the proxy
// (VIREO_APP_PROBES, JSON keyed by that path); the proxy runs the original from inside the pod
// against 127.0.0.1, so STRICT mutual TLS on the app's port does not refuse the kubelet, and a TCP
// probe cannot be answered by the proxy's capture listener alone.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { VireoError } from "../../src/common/errors.js";

export interface HttpGetProbe {
  readonly kind: "httpGet";
  readonly port: number;
  readonly path: string;
  readonly scheme: "HTTP" | "HTTPS";
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly timeoutMs: number;
}

export interface TcpProbe {
  readonly kind: "tcpSocket";
  readonly port: number;
  readonly timeoutMs: number;
}

export type AppProbe = HttpGetProbe | TcpProbe;

const PATH = /^\/app-health\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(livez|readyz|startupz)$/;

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function portOf(where: string, v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v) && v > 0 && v < 65536) return v;
  throw new VireoError(
    "BadConfig",
    `VIREO_APP_PROBES ${where}: port ${JSON.stringify(v)} is not a number (named ports must be resolved by the injector)`,
  );
}

/**
 * `{"/app-health/app/readyz": {"httpGet": {"path": "/ready", "port": 9898, "scheme": "HTTP",
 * "httpHeaders": [{"name": "Host", "value": "x"}]}, "timeoutSeconds": 1}, …}`: each value is the
 * original Kubernetes probe (httpGet or tcpSocket), as Istio's ISTIO_KUBE_APP_PROBERS.
 */
export function parseAppProbes(json: string): Map<string, AppProbe> {
  const probes = new Map<string, AppProbe>();
  if (json.trim() === "") return probes;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new VireoError("BadConfig", `VIREO_APP_PROBES is not JSON: ${(err as Error).message}`);
  }
  const all = record(parsed);
  if (all === undefined) throw new VireoError("BadConfig", "VIREO_APP_PROBES is not a JSON object");
  for (const [path, value] of Object.entries(all)) {
    if (!PATH.test(path))
      throw new VireoError(
        "BadConfig",
        `VIREO_APP_PROBES: "${path}" is not /app-health/<container>/<livez|readyz|startupz>`,
      );
    const probe = record(value) ?? {};
    const timeoutSeconds = typeof probe.timeoutSeconds === "number" ? probe.timeoutSeconds : 1;
    const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
    const get = record(probe.httpGet);
    const tcp = record(probe.tcpSocket);
    if (get !== undefined) {
      const scheme = get.scheme === "HTTPS" ? "HTTPS" : "HTTP";
      const headers = Array.isArray(get.httpHeaders)
        ? get.httpHeaders.flatMap((h) => {
            const r = record(h);
            return r !== undefined && typeof r.name === "string" && typeof r.value === "string"
              ? [{ name: r.name, value: r.value }]
              : [];
          })
        : [];
      const p = typeof get.path === "string" && get.path !== "" ? get.path : "/";
      probes.set(path, {
        kind: "httpGet",
        port: portOf(path, get.port),
        path: p.startsWith("/") ? p : `/${p}`,
        scheme,
        headers,
        timeoutMs,
      });
    } else if (tcp !== undefined) {
      probes.set(path, { kind: "tcpSocket", port: portOf(path, tcp.port), timeoutMs });
    } else {
      throw new VireoError("BadConfig", `VIREO_APP_PROBES ${path}: neither httpGet nor tcpSocket`);
    }
  }
  return probes;
}

/** Runs a probe against the app on `host` (127.0.0.1): true passes (HTTP 200–399, or connected). */
export function runProbe(probe: AppProbe, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    if (probe.kind === "tcpSocket") {
      const s = net.connect({ host, port: probe.port });
      s.setTimeout(probe.timeoutMs, () => {
        s.destroy();
        resolve(false);
      });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => {
        resolve(false);
      });
      return;
    }
    const headers: Record<string, string> = { "user-agent": "vireo-prober/1" };
    for (const h of probe.headers) headers[h.name.toLowerCase()] = h.value;
    const request = probe.scheme === "HTTPS" ? https.request : http.request;
    const req = request(
      {
        host,
        port: probe.port,
        path: probe.path,
        method: "GET",
        headers,
        agent: false,
        timeout: probe.timeoutMs,
        // The kubelet does not verify an HTTPS probe's certificate either.
        ...(probe.scheme === "HTTPS" && { rejectUnauthorized: false }),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.once("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.once("error", () => {
      resolve(false);
    });
    req.end();
  });
}
