// Runs one pod as local processes: its sandbox (network namespace, volumes), each container with
// restarts and back-off, probes, and graceful termination. Reports every change through onChange.
import type { ChildProcess } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import type { Server } from "node:net";
import { join } from "node:path";
import type { V1Container, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../../../src/common/clock.js";
import type { Logger } from "../../../src/common/logger.js";
import { buildEnv } from "./env.js";
import type { PodRuntimeInfo } from "./env.js";
import type { EventRecorder } from "./events.js";
import type { ImageMap } from "./images.js";
import { resolveCommand } from "./images.js";
import type { IpAllocator, PodNetwork } from "./network.js";
import { ProbeWorker } from "./probes.js";
import type { ProbeTarget } from "./probes.js";
import { startRelay } from "./relay.js";
import { runInSandbox, signalGroup, signalNumber, startProcess, writeMounts } from "./process.js";
import type { Sandbox } from "./process.js";
import type { ObjectSource } from "./sources.js";
import { MissingReferenceError } from "./sources.js";
import type { ContainerRecord, RunState, Terminated } from "./status.js";
import { computePodStatus, restartDelayMs, shouldRestart } from "./status.js";
import { PodVolumes } from "./volumes.js";

export interface NodeSettings {
  readonly hostIP: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly stateDir: string;
  readonly logDir: string;
  readonly repoRoot: string;
  readonly launcher: string;
  readonly nsPrefix: string;
  readonly basePath: string;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How often volumes are refreshed and waiting containers retried. */
  readonly syncPeriodMs: number;
}

export interface PodRunnerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly source: ObjectSource;
  /** Read at each container start, so an edited images.json needs no agent restart. */
  readonly images: () => ImageMap;
  readonly network: PodNetwork;
  readonly ips: IpAllocator;
  readonly events: EventRecorder;
  readonly settings: NodeSettings;
  readonly onChange: (runner: PodRunner) => void;
}

/** A container that ran this long without failing has its back-off reset (the kubelet's rule). */
const BACKOFF_RESET_MS = 10 * 60 * 1000;

class Slot {
  state: RunState = { kind: "waiting", reason: "ContainerCreating" };
  lastTerminated: Terminated | undefined;
  restartCount = 0;
  backoffSteps = 0;
  ready = false;
  started = false;
  child: ChildProcess | undefined;
  killReason: string | undefined;
  probes: ProbeWorker[] = [];
  restartTimer: TimerHandle | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: V1Container) {}

  record(): ContainerRecord {
    return {
      name: this.spec.name,
      image: this.spec.image ?? "",
      state: this.state,
      restartCount: this.restartCount,
      ready: this.ready,
      started: this.started,
      ...(this.lastTerminated === undefined ? {} : { lastTerminated: this.lastTerminated }),
    };
  }
}

export class PodRunner {
  readonly uid: string;
  private readonly slots: Slot[];
  private readonly netns: string | undefined;
  private readonly dir: string;
  private readonly volumes: PodVolumes;
  private readonly log: Logger;
  private podIP: string | undefined;
  private sandboxReady = false;
  private sandboxGone = false;
  private readonly hostPorts: Server[] = [];
  private finished = false;
  private startTime: number;
  private syncTimer: TimerHandle | undefined;
  /** The volume refresh and retry pass in flight, if any. */
  private syncing: Promise<void> | undefined;
  private terminating: Promise<void> | undefined;

  constructor(
    private pod: V1Pod,
    private readonly deps: PodRunnerDeps,
  ) {
    this.uid = pod.metadata?.uid ?? "";
    this.slots = (pod.spec?.containers ?? []).map((c) => new Slot(c));
    this.netns =
      pod.spec?.hostNetwork === true
        ? undefined
        : `${deps.settings.nsPrefix}${this.uid.replaceAll("-", "").slice(0, 12)}`;
    this.dir = join(deps.settings.stateDir, "pods", this.uid);
    this.startTime = deps.clock.now();
    this.log = deps.log.child({ namespace: this.namespace, pod: this.name });
    this.volumes = new PodVolumes(
      pod,
      join(this.dir, "volumes"),
      deps.source,
      () => this.info(),
      () => deps.clock.now(),
    );
  }

  get name(): string {
    return this.pod.metadata?.name ?? "";
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? "default";
  }

  get object(): V1Pod {
    return this.pod;
  }

  get ip(): string | undefined {
    return this.podIP;
  }

  /** Whether any container process is running now. */
  get running(): boolean {
    return this.slots.some((s) => s.state.kind === "running");
  }

  update(pod: V1Pod): void {
    this.pod = pod;
  }

  status(): V1PodStatus {
    return computePodStatus(
      {
        pod: this.pod,
        podIP: this.podIP,
        hostIP: this.deps.settings.hostIP,
        startTime: this.startTime,
        sandboxReady: this.sandboxReady,
        containers: this.slots.map((s) => s.record()),
        finished: this.finished,
      },
      this.deps.clock.now(),
    );
  }

  async start(): Promise<void> {
    const startedAt = this.pod.status?.startTime;
    if (startedAt !== undefined) this.startTime = new Date(startedAt).getTime();
    try {
      await this.createSandbox();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error("sandbox creation failed", { error: message });
      for (const slot of this.slots)
        slot.state = { kind: "waiting", reason: "ContainerCreating", message };
      this.deps.events.warning(this.pod, "FailedCreatePodSandBox", message);
      this.changed();
      this.scheduleSync();
      return;
    }
    this.changed();
    for (const slot of this.slots) await this.startContainer(slot);
    this.scheduleSync();
  }

  private async createSandbox(): Promise<void> {
    await mkdir(join(this.dir, "volumes"), { recursive: true });
    await mkdir(join(this.deps.settings.logDir, `${this.namespace}_${this.name}`), {
      recursive: true,
    });
    if (this.netns === undefined) {
      this.podIP = this.deps.settings.hostIP;
    } else {
      const address = this.deps.ips.allocate();
      try {
        await this.deps.network.create(this.netns, address);
      } catch (err) {
        this.deps.ips.release(address);
        throw err;
      }
      this.podIP = address;
    }
    this.sandboxReady = true;
    this.log.info("sandbox ready", { podIP: this.podIP, netns: this.netns });
    await this.openHostPorts();
  }

  /** `hostPort`s: the node's address and that port relayed to the pod, as CNI's portmap does. */
  private async openHostPorts(): Promise<void> {
    if (this.netns === undefined || this.podIP === undefined) return;
    for (const c of this.pod.spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        if (p.hostPort === undefined || p.hostPort === 0) continue;
        try {
          const server = await startRelay({
            listenHost: this.deps.settings.hostIP,
            listenPort: p.hostPort,
            targetHost: this.podIP,
            targetPort: p.containerPort,
          });
          this.hostPorts.push(server);
          this.log.info("host port open", { hostPort: p.hostPort, containerPort: p.containerPort });
        } catch (err) {
          const message = `hostPort ${p.hostPort}: ${err instanceof Error ? err.message : String(err)}`;
          this.deps.events.warning(this.pod, "HostPortUnavailable", message);
          this.log.warn("host port not opened", { error: message });
        }
      }
    }
  }

  private info(): PodRuntimeInfo {
    return {
      podIP: this.podIP ?? "",
      hostIP: this.deps.settings.hostIP,
      apiHost: this.deps.settings.apiHost,
      apiPort: this.deps.settings.apiPort,
    };
  }

  private sandbox(): Sandbox {
    return {
      netns: this.netns,
      launcher: this.deps.settings.launcher,
      repoRoot: this.deps.settings.repoRoot,
    };
  }

  private mountsFile(slot: Slot): string {
    return join(this.dir, `${slot.spec.name}.mounts`);
  }

  private logFile(slot: Slot): string {
    return join(
      this.deps.settings.logDir,
      `${this.namespace}_${this.name}`,
      `${slot.spec.name}.log`,
    );
  }

  private async startContainer(slot: Slot): Promise<void> {
    if (this.terminating !== undefined || !this.sandboxReady) return;
    const c = slot.spec;
    const cmd = resolveCommand(this.deps.images(), c.image ?? "", c.command, c.args);
    if (!cmd.ok) {
      this.wait(slot, cmd.reason, cmd.message);
      this.deps.events.warning(this.pod, "Failed", `container ${c.name}: ${cmd.message}`);
      return;
    }
    let env: Map<string, string>;
    try {
      // Volumes and env read the pod's IP, so they are built after the sandbox exists.
      await this.volumes.materialize();
      await writeMounts(this.mountsFile(slot), this.volumes.mountsFor(c));
      env = await buildEnv(this.pod, c, this.info(), this.deps.source, this.deps.settings.basePath);
    } catch (err) {
      const reason = err instanceof MissingReferenceError ? err.reason : "CreateContainerError";
      const message = err instanceof Error ? err.message : String(err);
      this.wait(slot, reason, message);
      this.deps.events.warning(this.pod, "Failed", `container ${c.name}: ${message}`);
      return;
    }
    const argv = cmd.argv.map((a) =>
      a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, n: string) => env.get(n) ?? all),
    );
    const child = startProcess(
      this.sandbox(),
      this.mountsFile(slot),
      c.workingDir,
      argv,
      env,
      this.logFile(slot),
    );
    const startedAt = this.deps.clock.now();
    slot.child = child;
    slot.killReason = undefined;
    slot.state = { kind: "running", startedAt };
    slot.started = c.startupProbe === undefined;
    slot.ready = slot.started && c.readinessProbe === undefined;
    slot.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.onExit(slot, startedAt, code, signal);
        resolve();
      });
    });
    child.on("error", (err) => {
      this.log.error("container failed to start", { container: c.name, error: err.message });
    });
    this.log.info("container started", { container: c.name, pid: child.pid, argv: argv.join(" ") });
    this.deps.events.normal(this.pod, "Started", `Started container ${c.name}`);
    this.startProbes(slot);
    this.changed();
  }

  private wait(slot: Slot, reason: string, message: string): void {
    slot.state = { kind: "waiting", reason, message };
    slot.ready = false;
    this.changed();
  }

  private probeTarget(slot: Slot, env: ReadonlyMap<string, string>): ProbeTarget {
    return {
      podIP: this.podIP ?? "",
      ports: slot.spec.ports ?? [],
      exec: (argv, timeoutMs) =>
        runInSandbox(this.sandbox(), this.mountsFile(slot), argv, env, timeoutMs),
    };
  }

  private startProbes(slot: Slot): void {
    const c = slot.spec;
    const target = this.probeTarget(slot, new Map([["PATH", this.deps.settings.basePath]]));
    const clock = this.deps.clock;
    const startMain = (): void => {
      if (c.livenessProbe !== undefined) {
        const w = new ProbeWorker(c.livenessProbe, target, clock, true, (ok, message) => {
          if (!ok) this.kill(slot, "liveness", message);
        });
        slot.probes.push(w);
        w.start();
      }
      if (c.readinessProbe !== undefined) {
        const w = new ProbeWorker(c.readinessProbe, target, clock, false, (ok, message) => {
          if (slot.state.kind !== "running") return;
          if (!ok)
            this.deps.events.warning(this.pod, "Unhealthy", `Readiness probe failed: ${message}`);
          if (slot.ready !== ok) {
            slot.ready = ok;
            this.changed();
          }
        });
        slot.probes.push(w);
        w.start();
      }
    };
    if (c.startupProbe === undefined) {
      startMain();
      return;
    }
    const w = new ProbeWorker(c.startupProbe, target, clock, false, (ok, message) => {
      if (ok) {
        slot.started = true;
        slot.ready = c.readinessProbe === undefined;
        this.changed();
        startMain();
      } else {
        this.kill(slot, "startup", message);
      }
    });
    slot.probes.push(w);
    w.start();
  }

  private kill(slot: Slot, probe: string, message: string): void {
    if (slot.child === undefined || slot.killReason !== undefined) return;
    this.deps.events.warning(this.pod, "Unhealthy", `${probe} probe failed: ${message}`);
    this.deps.events.normal(
      this.pod,
      "Killing",
      `Container ${slot.spec.name} failed ${probe} probe, will be restarted`,
    );
    slot.killReason = "Error";
    void this.stopContainer(slot, this.graceSeconds());
  }

  private onExit(
    slot: Slot,
    startedAt: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    for (const p of slot.probes) p.stop();
    slot.probes = [];
    slot.child = undefined;
    const now = this.deps.clock.now();
    const exitCode = code ?? (signal === null ? 1 : 128 + signalNumber(signal));
    const terminated: Terminated = {
      kind: "terminated",
      exitCode,
      reason: slot.killReason ?? (exitCode === 0 ? "Completed" : "Error"),
      startedAt,
      finishedAt: now,
      ...(signal === null ? {} : { signal: signalNumber(signal) }),
    };
    slot.ready = false;
    slot.state = terminated;
    this.log.info("container exited", { container: slot.spec.name, exitCode, signal });
    if (this.terminating !== undefined) {
      this.changed();
      return;
    }
    if (!shouldRestart(this.pod.spec?.restartPolicy, exitCode)) {
      if (this.slots.every((s) => s.state.kind === "terminated")) {
        this.finished = true;
        void this.teardownSandbox();
      }
      this.changed();
      return;
    }
    if (now - startedAt >= BACKOFF_RESET_MS) slot.backoffSteps = 0;
    const { backoffBaseMs, backoffMaxMs } = this.deps.settings;
    const delay = restartDelayMs(slot.backoffSteps, backoffBaseMs, backoffMaxMs);
    slot.backoffSteps++;
    slot.lastTerminated = terminated;
    const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${slot.spec.name} pod=${this.name}_${this.namespace}(${this.uid})`;
    slot.state = { kind: "waiting", reason: "CrashLoopBackOff", message };
    this.deps.events.warning(
      this.pod,
      "BackOff",
      `Back-off restarting failed container ${slot.spec.name}`,
    );
    slot.restartTimer = this.deps.clock.setTimer(delay, () => {
      slot.restartTimer = undefined;
      slot.restartCount++;
      void this.startContainer(slot);
    });
    this.changed();
  }

  private scheduleSync(): void {
    if (this.terminating !== undefined) return;
    this.syncTimer = this.deps.clock.setTimer(this.deps.settings.syncPeriodMs, () => {
      this.syncing = this.sync().finally(() => {
        this.syncing = undefined;
        this.scheduleSync();
      });
    });
  }

  /** Refreshes volumes and retries what could not start (missing config, failed sandbox). */
  private async sync(): Promise<void> {
    if (this.terminating !== undefined || this.finished) return;
    if (!this.sandboxReady) {
      await this.start();
      return;
    }
    try {
      await this.volumes.materialize();
    } catch (err) {
      this.log.debug("volume refresh failed", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    for (const slot of this.slots) {
      const s = slot.state;
      if (
        s.kind === "waiting" &&
        s.reason !== "CrashLoopBackOff" &&
        slot.restartTimer === undefined
      ) {
        if (s.reason === "ErrImagePull") slot.state = { ...s, reason: "ImagePullBackOff" };
        await this.startContainer(slot);
      }
    }
  }

  private graceSeconds(): number {
    return this.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async stopContainer(slot: Slot, graceSeconds: number): Promise<void> {
    const child = slot.child;
    if (child === undefined) return;
    signalGroup(child, "SIGTERM");
    const killTimer = this.deps.clock.setTimer(Math.max(0, graceSeconds) * 1000, () => {
      signalGroup(child, "SIGKILL");
    });
    await slot.exited;
    killTimer.cancel();
  }

  /** Stops every container (SIGTERM, then SIGKILL after the grace period) and removes the sandbox. */
  terminate(graceSeconds = this.graceSeconds()): Promise<void> {
    this.terminating ??= (async () => {
      this.syncTimer?.cancel();
      for (const slot of this.slots) {
        slot.restartTimer?.cancel();
        for (const p of slot.probes) p.stop();
        if (slot.child !== undefined) slot.killReason ??= "Completed";
      }
      await Promise.all(this.slots.map((s) => this.stopContainer(s, graceSeconds)));
      this.finished = true;
      // A volume refresh still writing would race the removal (ENOTEMPTY).
      await this.syncing;
      await this.teardownSandbox();
      try {
        await rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
      } catch (err) {
        this.log.warn("pod directory not removed", {
          error: err instanceof Error ? err.message : String(err),
        });
      }
      this.log.info("pod stopped");
      this.changed();
    })();
    return this.terminating;
  }

  private async teardownSandbox(): Promise<void> {
    if (!this.sandboxReady || this.sandboxGone) return;
    this.sandboxGone = true; // a finished pod keeps reporting its last phase and IP
    for (const s of this.hostPorts.splice(0)) s.close();
    if (this.netns !== undefined) {
      await this.deps.network.destroy(this.netns);
      if (this.podIP !== undefined) this.deps.ips.release(this.podIP);
    }
  }

  private changed(): void {
    this.deps.onChange(this);
  }
}
