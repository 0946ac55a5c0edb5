// The proxy's admin port (Envoy's admin interface, in part): readiness for the kubelet, metrics
// for Prometheus, the config in force for `vireo proxy-config`, and drain/exit for pod shutdown.
// Loopback by default: the POST endpoints stop the proxy.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import { systemClock } from "../../src/common/clock.js";
import { describeError } from "../../src/common/errors.js";
import type { Logger } from "../../src/common/logger.js";
import type { MetricsRegistry } from "../telemetry/metrics.js";
import { formatConfigDump } from "./config-dump.js";

export interface AdminDeps {
  readonly registry: MetricsRegistry;
  /** True once the first xDS snapshot has arrived and the listeners are bound. */
  readonly ready: () => boolean;
  /** The xDS client's current snapshot, versions and status; serialized by `formatConfigDump`. */
  readonly configDump: () => unknown;
  /** Stops accepting and resolves when requests in flight have finished. */
  readonly drain: () => Promise<void>;
  /** Ends the process; called once `/quitquitquit` has drained and answered. */
  readonly exit: () => void;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Drain deadline: past it `/drain` answers 504 and `/quitquitquit` exits anyway. 0: none. */
  readonly drainTimeoutMs?: number;
}

export interface AdminListen {
  readonly port: number;
  /** 127.0.0.1 by default. */
  readonly host?: string;
}

export interface AdminServer {
  readonly address: string;
  readonly port: number;
  /** The state `/ready` reports, shared with the status port. */
  state(): AdminState;
  close(): Promise<void>;
}

/** Envoy's server states, as its /ready reports them. */
export type AdminState = "PRE_INITIALIZING" | "LIVE" | "DRAINING";

type DrainResult = "drained" | "timeout" | { readonly error: string };

const ENDPOINTS: Readonly<Record<string, "GET" | "POST">> = {
  "/": "GET",
  "/ready": "GET",
  "/healthz": "GET",
  "/stats/prometheus": "GET",
  "/config_dump": "GET",
  "/drain": "POST",
  "/quitquitquit": "POST",
};

const TEXT = "text/plain; charset=utf-8";

function reply(res: http.ServerResponse, status: number, body: string, type = TEXT): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function startAdminServer(deps: AdminDeps, listen: AdminListen): Promise<AdminServer> {
  const clock = deps.clock ?? systemClock;
  const timeoutMs = deps.drainTimeoutMs ?? 0;
  let draining: Promise<DrainResult> | undefined;
  let exiting = false;

  const state = (): AdminState => {
    if (draining !== undefined) return "DRAINING";
    try {
      return deps.ready() ? "LIVE" : "PRE_INITIALIZING";
    } catch (err) {
      deps.log.warn("readiness check failed", { error: describeError(err) });
      return "PRE_INITIALIZING";
    }
  };

  /** One drain however many callers ask for it. */
  const drain = (): Promise<DrainResult> => {
    if (draining !== undefined) return draining;
    deps.log.info("draining");
    const started = clock.now();
    const done = deps.drain().then(
      (): DrainResult => "drained",
      (err: unknown): DrainResult => ({ error: describeError(err) }),
    );
    let timer: TimerHandle | undefined;
    const bounded =
      timeoutMs > 0
        ? Promise.race([
            done,
            new Promise<DrainResult>((resolve) => {
              timer = clock.setTimer(timeoutMs, () => {
                resolve("timeout");
              });
            }),
          ])
        : done;
    draining = bounded.then((r) => {
      timer?.cancel();
      const tookMs = clock.now() - started;
      if (r === "drained") deps.log.info("drained", { tookMs });
      else if (r === "timeout") deps.log.warn("drain timed out", { tookMs, timeoutMs });
      else deps.log.error("drain failed", { error: r.error, tookMs });
      return r;
    });
    return draining;
  };

  const onDrain = async (res: http.ServerResponse): Promise<void> => {
    const r = await drain();
    if (r === "drained") reply(res, 200, "drained\n");
    else if (r === "timeout") reply(res, 504, `drain did not finish within ${timeoutMs} ms\n`);
    else reply(res, 500, `drain failed: ${r.error}\n`);
  };

  const onQuit = async (res: http.ServerResponse): Promise<void> => {
    const r = await drain();
    const exit = (): void => {
      if (exiting) return;
      exiting = true;
      deps.log.info("exiting");
      deps.exit();
    };
    res.once("close", exit);
    reply(res, 200, r === "drained" ? "OK\n" : "exiting without a complete drain\n");
  };

  const onStats = async (res: http.ServerResponse): Promise<void> => {
    const text = await deps.registry.metrics();
    reply(res, 200, text, deps.registry.contentType);
  };

  const onConfigDump = (res: http.ServerResponse): void => {
    reply(res, 200, formatConfigDump(deps.configDump()), "application/json");
  };

  const route = async (path: string, res: http.ServerResponse): Promise<void> => {
    switch (path) {
      case "/":
        reply(res, 200, `${Object.keys(ENDPOINTS).join("\n")}\n`);
        return;
      case "/ready": {
        const s = state();
        reply(res, s === "LIVE" ? 200 : 503, `${s}\n`);
        return;
      }
      case "/healthz":
        reply(res, 200, "ok\n");
        return;
      case "/stats/prometheus":
        await onStats(res);
        return;
      case "/config_dump":
        onConfigDump(res);
        return;
      case "/drain":
        await onDrain(res);
        return;
      case "/quitquitquit":
        await onQuit(res);
        return;
    }
  };

  const server = http.createServer((req, res) => {
    req.resume();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method === "HEAD" ? "GET" : req.method;
    const wanted = ENDPOINTS[path];
    if (wanted === undefined) {
      reply(res, 404, `no such admin endpoint: ${path}\n`);
      return;
    }
    if (method !== wanted) {
      res.setHeader("allow", wanted === "GET" ? "GET, HEAD" : "POST");
      reply(res, 405, `${path} takes ${wanted}\n`);
      return;
    }
    route(path, res).catch((err: unknown) => {
      deps.log.error("admin request failed", { path, error: describeError(err) });
      if (!res.headersSent) reply(res, 500, `${describeError(err)}\n`);
      else res.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: a.address,
        port: a.port,
        state,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
