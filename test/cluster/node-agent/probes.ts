// Container probes as the kubelet runs them: httpGet, tcpSocket and exec, with initial delay,
// period, timeout and success/failure thresholds. A worker reports only changes of result.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { V1ContainerPort, V1Probe } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../../../src/common/clock.js";

export interface ProbeOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export interface ProbeTarget {
  readonly podIP: string;
  readonly ports: readonly V1ContainerPort[];
  /** Runs a command inside the container's namespaces; resolves with its exit code and output. */
  readonly exec: (
    argv: readonly string[],
    timeoutMs: number,
  ) => Promise<{ code: number; output: string }>;
}

export function resolvePort(port: number | string, ports: readonly V1ContainerPort[]): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (named === undefined) throw new Error(`no container port named "${port}"`);
  return named.containerPort;
}

export async function runProbe(probe: V1Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet !== undefined) {
      const g = probe.httpGet;
      const port = resolvePort(g.port, target.ports);
      return await httpProbe(
        g.scheme === "HTTPS" ? "https" : "http",
        g.host ?? target.podIP,
        port,
        g.path ?? "/",
        Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value])),
        timeoutMs,
      );
    }
    if (probe.tcpSocket !== undefined) {
      const port = resolvePort(probe.tcpSocket.port, target.ports);
      return await tcpProbe(probe.tcpSocket.host ?? target.podIP, port, timeoutMs);
    }
    if (probe.exec !== undefined) {
      const { code, output } = await target.exec(probe.exec.command ?? [], timeoutMs);
      return code === 0
        ? { ok: true, message: "" }
        : { ok: false, message: `command exited with ${code}: ${output.slice(0, 200)}` };
    }
    return {
      ok: false,
      message: "probe has no httpGet, tcpSocket or exec handler (grpc is not supported here)",
    };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function httpProbe(
  scheme: "http" | "https",
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const mod = scheme === "https" ? https : http;
    const req = mod.get(
      {
        host,
        port,
        path,
        headers: { "User-Agent": "kube-probe/1.34", ...headers },
        timeout: timeoutMs,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400
            ? { ok: true, message: "" }
            : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      },
    );
    req.on("timeout", () =>
      req.destroy(
        new Error(`Get "${scheme}://${host}:${port}${path}": timeout after ${timeoutMs}ms`),
      ),
    );
    req.on("error", (err) => {
      resolve({ ok: false, message: `Get "${scheme}://${host}:${port}${path}": ${err.message}` });
    });
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.on("connect", () => {
      socket.destroy();
      resolve({ ok: true, message: "" });
    });
    socket.on("timeout", () => socket.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`)));
    socket.on("error", (err) => {
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` });
    });
  });
}

/**
 * Runs one probe periodically. `onChange(ok, message)` fires when the thresholds flip the result,
 * and again after every `failureThreshold` failures while it stays failed. Readiness and startup
 * start failed, liveness starts succeeded (the kubelet's initial results).
 */
export class ProbeWorker {
  private timer: TimerHandle | undefined;
  private successes = 0;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly probe: V1Probe,
    private readonly target: ProbeTarget,
    private readonly clock: Clock,
    private result: boolean,
    private readonly onChange: (ok: boolean, message: string) => void,
  ) {}

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(ms, () => {
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    const outcome = await runProbe(this.probe, this.target);
    if (this.stopped) return;
    if (outcome.ok) {
      this.successes++;
      this.failures = 0;
      if (!this.result && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.result = true;
        this.onChange(true, "");
      }
    } else {
      this.failures++;
      this.successes = 0;
      if (this.result && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.result = false;
        this.onChange(false, outcome.message);
      } else if (!this.result && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.onChange(false, outcome.message);
        this.failures = 0;
      }
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
