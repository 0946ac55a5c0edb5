// Runs one pod as local processes: its sandbox (network namespace, volumes), its init containers
// and native sidecars in the kubelet's order, each container with restarts and back-off, probes,
// its user and capabilities, and graceful termination. Reports every change through onChange.
import { mkdir, rm } from "node:fs/promises";
import type { Server } from "node:net";
import { join } from "node:path";
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../../../src/common/clock.js";
import type { Logger } from "../../../src/common/logger.js";
import { buildEnv } from "./env.js";
import type { PodRuntimeInfo } from "./env.js";
import type { EventRecorder } from "./events.js";
import type { ImageMap } from "./images.js";
import { resolveCommand } from "./images.js";
import { planInit, restartsAfterExit, terminationWaves } from "./lifecycle.js";
import type { IpAllocator, PodNetwork } from "./network.js";
import { ProbeWorker } from "./probes.js";
import type { ProbeTarget } from "./probes.js";
import { startRelay } from "./relay.js";
import { runInSandbox, signalGroup, signalNumber, startProcess, writeMounts } from "./process.js";
import type { Sandbox } from "./process.js";
import type { RepoAccess } from "./repo-access.js";
import { planSecurity, setprivArgv } from "./security.js";
import { Slot } from "./slot.js";
import type { ObjectSource } from "./sources.js";
import { MissingReferenceError } from "./sources.js";
import type { Terminated } from "./status.js";
import { computePodStatus, restartDelayMs } from "./status.js";
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
  /** Whether a container's uid can read the checkout (else it runs as uid 0 with its gid). */
  readonly access: RepoAccess;
  readonly onChange: (runner: PodRunner) => void;
}

/** A container that ran this long without failing has its back-off reset (the kubelet's rule). */
const BACKOFF_RESET_MS = 10 * 60 * 1000;

export class PodRunner {
  readonly uid: string;
  /** Init containers (regular and sidecars) in spec order, then the app containers. */
  private readonly slots: Slot[];
  private readonly initSlots: Slot[];
  private readonly appSlots: Slot[];
  /** Every regular init container completed and every sidecar started once. */
  private initDone = false;
  /** No container is started or restarted any more (pod completing or terminating). */
  private stopping = false;
  private finishing: Promise<void> | undefined;
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
    const init = pod.spec?.initContainers ?? [];
    // The kubelet's default waiting reason: PodInitializing when the pod has init containers.
    const waiting = init.length > 0 ? "PodInitializing" : "ContainerCreating";
    this.initSlots = init.map(
      (c) => new Slot(c, c.restartPolicy === "Always" ? "sidecar" : "init", waiting),
    );
    this.appSlots = (pod.spec?.containers ?? []).map((c) => new Slot(c, "app", waiting));
    this.slots = [...this.initSlots, ...this.appSlots];
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
        containers: this.appSlots.map((s) => s.record()),
        initContainers: this.initSlots.map((s) => s.record()),
        finished: this.finished,
      },
      this.deps.clock.now(),
    );
  }

  async start(): Promise<void> {
    const startedAt = this.pod.status?.startTime;
    if (startedAt !== undefined) this.startTime = new Date(startedAt).getTime();
    await this.boot();
    this.scheduleSync();
  }

  /** Creates the sandbox and starts the first containers; on failure the next sync retries. */
  private async boot(): Promise<void> {
    try {
      await this.createSandbox();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error("sandbox creation failed", { error: message });
      for (const slot of this.slots)
        slot.state = { kind: "waiting", reason: "ContainerCreating", message };
      this.deps.events.warning(this.pod, "FailedCreatePodSandBox", message);
      this.changed();
      return;
    }
    for (const slot of this.slots) if (!slot.launched) slot.state = slot.initialState;
    this.changed();
    await this.advance();
  }

  /**
   * Starts what the kubelet's order allows now: the next init container once the previous one
   * completed (or, for a sidecar, started), the app containers once initialization is done.
   */
  private async advance(): Promise<void> {
    if (this.stopping || !this.sandboxReady) return;
    if (!this.initDone) {
      const step = planInit(this.initSlots.map((s) => s.progress()));
      if (step.kind === "launch") {
        const slot = this.initSlots[step.index];
        if (slot !== undefined) await this.startContainer(slot);
        return;
      }
      if (step.kind === "wait") return;
      this.initDone = true;
      if (this.initSlots.length > 0) this.log.info("pod initialized");
    }
    for (const slot of this.appSlots) if (!slot.launched) await this.startContainer(slot);
  }

  private advanceLater(): void {
    this.advance().catch((err: unknown) => {
      this.log.error("starting containers failed", { error: String(err) });
    });
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
    const sidecars = (this.pod.spec?.initContainers ?? []).filter(
      (c) => c.restartPolicy === "Always",
    );
    for (const c of [...sidecars, ...(this.pod.spec?.containers ?? [])]) {
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
    if (this.stopping || !this.sandboxReady || slot.starting || slot.child !== undefined) return;
    slot.launched = true;
    slot.starting = true;
    try {
      await this.spawnContainer(slot);
    } finally {
      slot.starting = false;
    }
    // After the spawn is reported, so the next init container starts after this one.
    if (slot.started) this.onStarted(slot);
  }

  private async spawnContainer(slot: Slot): Promise<void> {
    const c = slot.spec;
    const cmd = resolveCommand(this.deps.images(), c.image ?? "", c.command, c.args);
    if (!cmd.ok) {
      this.wait(slot, cmd.reason, cmd.message);
      this.deps.events.warning(this.pod, "Failed", `container ${c.name}: ${cmd.message}`);
      return;
    }
    const security = await this.securityFor(slot);
    if (security === undefined) return;
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
    if (this.stopping) return;
    const argv = cmd.argv.map((a) =>
      a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, n: string) => env.get(n) ?? all),
    );
    slot.security = security;
    const child = startProcess(
      this.sandbox(),
      this.mountsFile(slot),
      c.workingDir,
      [...security, ...argv],
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
    this.log.info("container started", {
      container: c.name,
      kind: slot.kind,
      pid: child.pid,
      argv: argv.join(" "),
      security: security.join(" "),
    });
    this.deps.events.normal(this.pod, "Started", `Started container ${c.name}`);
    this.startProbes(slot);
    this.changed();
  }

  /**
   * The setpriv prefix for the container's user and capabilities. A uid that cannot read the
   * checkout (the commands are repo files run by node) falls back to uid 0 keeping its gid, with a
   * Warning event: the proxy's traffic is then still told apart by its gid (Istio matches both).
   */
  private async securityFor(slot: Slot): Promise<readonly string[] | undefined> {
    const c = slot.spec;
    const decision = planSecurity(this.pod, c);
    if (!decision.ok) {
      this.wait(slot, decision.reason, decision.message);
      this.deps.events.warning(this.pod, "Failed", `Error: ${decision.message}`);
      return undefined;
    }
    let plan = decision.plan;
    if (!(await this.deps.access.canRead(plan.uid, plan.gid, plan.groups))) {
      const message = `container ${c.name}: uid ${plan.uid} cannot read the checkout ${this.deps.settings.repoRoot}, so it runs as uid 0 with gid ${plan.gid}`;
      if (!slot.warnedFallback) {
        slot.warnedFallback = true;
        this.deps.events.warning(this.pod, "RunAsUserFallback", message);
        this.log.warn("runAsUser not applied", { container: c.name, message });
      }
      plan = { ...plan, uid: 0 };
    }
    return setprivArgv(plan);
  }

  /** A container's startup is complete: a sidecar lets the next init container start. */
  private onStarted(slot: Slot): void {
    if (slot.kind !== "sidecar") return;
    slot.everStarted = true;
    this.advanceLater();
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
      // An exec probe runs in the container, as its user and with its capabilities.
      exec: (argv, timeoutMs) =>
        runInSandbox(
          this.sandbox(),
          this.mountsFile(slot),
          [...slot.security, ...argv],
          env,
          timeoutMs,
        ),
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
        this.onStarted(slot);
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
    slot.started = false;
    slot.state = terminated;
    this.log.info("container exited", { container: slot.spec.name, exitCode, signal });
    if (this.stopping) {
      this.changed();
      return;
    }
    if (slot.kind === "init" && exitCode === 0) {
      slot.completed = true;
      this.changed();
      this.advanceLater();
      return;
    }
    if (!restartsAfterExit(slot.kind, this.pod.spec?.restartPolicy, exitCode)) {
      // A failed init container under restartPolicy Never fails the pod; a Job-like pod is done
      // once every app container has exited for good. Either way the sidecars are stopped.
      const appsDone = this.appSlots.every((s) => s.state.kind === "terminated");
      if (slot.kind === "init" || appsDone) this.finish();
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
    if (this.stopping) return;
    this.syncTimer = this.deps.clock.setTimer(this.deps.settings.syncPeriodMs, () => {
      this.syncing = this.sync().finally(() => {
        this.syncing = undefined;
        this.scheduleSync();
      });
    });
  }

  /** Refreshes volumes and retries what could not start (missing config, failed sandbox). */
  private async sync(): Promise<void> {
    if (this.stopping || this.finished) return;
    if (!this.sandboxReady) {
      await this.boot();
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
        slot.launched &&
        slot.child === undefined &&
        s.kind === "waiting" &&
        s.reason !== "CrashLoopBackOff" &&
        slot.restartTimer === undefined
      ) {
        if (s.reason === "ErrImagePull") slot.state = { ...s, reason: "ImagePullBackOff" };
        await this.startContainer(slot);
      }
    }
    await this.advance();
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

  /**
   * Stops every container in the kubelet's order: app containers (and a running regular init
   * container) get SIGTERM together; once they have exited, each sidecar in reverse order. What
   * still runs when the grace period is over gets SIGKILL. Nothing is restarted any more.
   */
  private async stopAll(graceSeconds: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) {
      slot.restartTimer?.cancel();
      slot.restartTimer = undefined;
      for (const p of slot.probes) p.stop();
      slot.probes = [];
    }
    const killTimer = this.deps.clock.setTimer(Math.max(0, graceSeconds) * 1000, () => {
      for (const slot of this.slots)
        if (slot.child !== undefined) signalGroup(slot.child, "SIGKILL");
    });
    for (const wave of terminationWaves(this.slots.map((s) => s.kind))) {
      await Promise.all(
        wave.map((i) => {
          const slot = this.slots[i];
          const child = slot?.child;
          if (slot === undefined || child === undefined) return Promise.resolve();
          slot.killReason ??= "Completed";
          signalGroup(child, "SIGTERM");
          return slot.exited;
        }),
      );
    }
    killTimer.cancel();
  }

  /** The pod will run no container again (Job-like completion, failed init): stop the sidecars. */
  private finish(): void {
    this.finishing ??= (async () => {
      await this.stopAll(this.graceSeconds());
      this.finished = true;
      await this.teardownSandbox();
      this.log.info("pod finished");
      this.changed();
    })();
  }

  /** Stops every container (see stopAll) and removes the sandbox. */
  terminate(graceSeconds = this.graceSeconds()): Promise<void> {
    this.terminating ??= (async () => {
      this.syncTimer?.cancel();
      await this.stopAll(graceSeconds);
      await this.finishing;
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
