// The controller's HTTP port: /metrics for Prometheus, /healthz (alive) and /readyz (caches synced).
import http from "node:http";
import type { Registry } from "prom-client";

export interface HealthSource {
  ready(): boolean;
}

export function startMetricsServer(
  registry: Registry,
  health: HealthSource,
  port: number,
  host: string,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const ok = health.ready();
      res.writeHead(ok ? 200 : 503).end(ok ? "ok\n" : "not ready\n");
      return;
    }
    res.writeHead(404).end("not found\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve(server);
    });
  });
}
