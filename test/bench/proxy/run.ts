// The proxy benchmark (issue 5): one upstream (nginx answering 1 KiB), reached directly and
// through vireo's proxy, nginx, haproxy and a bare node:http proxy, all loaded by the same wrk at
// a constant 1,000 req/s and at saturation, in one run, the proxies pinned to one CPU. Prints
// each one's figures, vireo's as ratios to the others', and where vireo's time goes (CPU
// profiles) when it misses a target. Fails only on errors, never on timing.
//   node --import tsx test/bench/proxy/run.ts [--rounds 3] [--tiny] [--only vireo,nginx]
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LoadOptions, WrkSummary } from "./load.js";
import { errorCount, runWrk } from "./load.js";
import {
  allowedCpus,
  anonKB,
  coreBusy,
  coreTimes,
  cpuSeconds,
  processTree,
  pssKB,
  rssKB,
} from "./procfs.js";
import type { GcSummary } from "./gc.js";
import { gcInWindows, parseTraceGc } from "./gc.js";
import type { CpuProfile } from "./profile.js";
import { summarise } from "./profile.js";
import type {
  Phase,
  ProfileRun,
  Proxy,
  Results,
  RuntimeMemory,
  Sample,
  Settings,
  TargetName,
} from "./report.js";
import { figures, formatReport, missesTargets, pairedRatio, TARGETS } from "./report.js";
import type { Placement } from "./targets.js";
import {
  BODY,
  freePort,
  get,
  startHaproxy,
  startNginx,
  startNodeProxy,
  stop,
  waitServing,
} from "./targets.js";
import { buildProxy, SERVICE_HOST, spawnProxy, startControlPlane } from "./vireo.js";
import type { ControlPlane } from "./vireo.js";

const KEEP_RUNS = 20;
const CACHE =
  process.env.VIREO_BENCH_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "vireo-bench");
// nginx and haproxy live in /usr/sbin, which a non-root PATH may lack.
process.env.PATH = [process.env.PATH ?? "", "/usr/sbin", "/sbin"].join(":");

const { values } = parseArgs({
  options: {
    tiny: { type: "boolean", default: false },
    rounds: { type: "string" },
    rate: { type: "string" },
    "rate-seconds": { type: "string" },
    "saturation-seconds": { type: "string" },
    connections: { type: "string" },
    "saturation-connections": { type: "string" },
    warmup: { type: "string" },
    only: { type: "string" },
    role: { type: "string", default: "sidecar" },
    "vireo-node-flags": { type: "string", default: "" },
    "vireo-env": { type: "string", default: "" },
    profile: { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    "profile-seconds": { type: "string" },
  },
});
const count = (flag: string, value: string | undefined, fallback: number, min = 1): number => {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: expected an integer >= ${min}`);
  return n;
};
const tiny = values.tiny;
const PROXIES: readonly Proxy[] = ["nginx", "haproxy", "node", "undici", "vireo"];
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((p) => !PROXIES.some((x) => x === p)) ?? [];
if (unknown.length > 0) {
  throw new Error(`--only: ${unknown.join(",")} not among ${PROXIES.join(",")}`);
}
const proxies = PROXIES.filter((p) => only === undefined || only.includes(p));
const targets: readonly TargetName[] = ["direct", ...proxies];
if (values.role !== "sidecar" && values.role !== "gateway") {
  throw new Error("--role: expected sidecar or gateway");
}
const role = values.role;

// The proxies get the last CPU to themselves; wrk and the upstream share the others.
const cpus = allowedCpus();
const proxyCpu = cpus.length >= 2 ? cpus.at(-1) : undefined;
const loadCpus = cpus.length >= 2 ? cpus.slice(0, -1) : cpus;
const onProxyCpu: Placement = proxyCpu === undefined ? {} : { cpus: `${proxyCpu}` };
const onLoadCpus: Placement = proxyCpu === undefined ? {} : { cpus: loadCpus.join(",") };

const profileSeconds = count("profile-seconds", values["profile-seconds"], tiny ? 1 : 5);
// --tiny profiles the measured node proxies themselves (timing means nothing there), which saves
// starting more; a full run profiles separate ones afterwards, so the profiler slows no figure.
const profileInline = tiny && !values["no-profile"];

const settings: Settings = {
  rate: count("rate", values.rate, 1000),
  rateSeconds: count("rate-seconds", values["rate-seconds"], tiny ? 1 : 10),
  rateConnections: count("connections", values.connections, tiny ? 4 : 16),
  saturationSeconds: count("saturation-seconds", values["saturation-seconds"], tiny ? 1 : 5),
  saturationConnections: count(
    "saturation-connections",
    values["saturation-connections"],
    tiny ? 8 : 64,
  ),
  rounds: count("rounds", values.rounds, tiny ? 1 : 3),
  warmupSeconds: count("warmup", values.warmup, tiny ? 0 : 3, 0),
  cpus,
  proxyCpu,
  loadCpus,
  vireoRole: role,
  vireoNodeFlags: values["vireo-node-flags"].split(" ").filter((f) => f !== ""),
  vireoEnv: Object.fromEntries(
    values["vireo-env"]
      .split(" ")
      .filter((v) => v !== "")
      .map((v) => {
        const eq = v.indexOf("=");
        if (eq < 1) throw new Error(`--vireo-env: expected NAME=VALUE, got ${v}`);
        return [v.slice(0, eq), v.slice(eq + 1)];
      }),
  ),
  versions: versions(),
};

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const runsDir = join(CACHE, "runs");
const runDir = join(runsDir, `proxy-${stamp}`);
await mkdir(runDir, { recursive: true });
// Keep the newest runs' logs and results only.
const earlier = (await readdir(runsDir)).filter((d) => d.startsWith("proxy-")).sort();
await Promise.all(
  earlier.slice(0, -KEEP_RUNS).map((d) => rm(join(runsDir, d), { recursive: true, force: true })),
);
const say = (line: string): void => {
  process.stderr.write(`[bench proxy] ${line}\n`);
};

/** The tools' versions; throws with the install command if one is missing. */
function versions(): Record<string, string> {
  const run = (cmd: string, args: string[]): string | undefined => {
    // Versions go to standard output or error, and wrk -v exits 1 after printing its own.
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return r.error === undefined ? `${r.stdout}${r.stderr}` : undefined;
  };
  const found: Record<string, string | undefined> = {
    wrk: run("wrk", ["-v"]),
    nginx: run("nginx", ["-v"]),
    haproxy: run("haproxy", ["-v"]),
    ...(proxyCpu === undefined ? {} : { taskset: run("taskset", ["--version"]) }),
  };
  const missing = Object.keys(found).filter((k) => found[k] === undefined);
  if (missing.length > 0) {
    const debs = missing.map((m) => (m === "taskset" ? "util-linux" : m));
    throw new Error(
      `missing ${missing.join(", ")}: apt-get install --no-install-recommends ${debs.join(" ")} ` +
        "(make install-debs)",
    );
  }
  const first = (s: string | undefined): string => (s ?? "").trim().split("\n")[0] ?? "";
  return {
    node: process.version,
    ...Object.fromEntries(Object.entries(found).map(([k, v]) => [k, first(v)])),
  };
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly adminPort?: number;
  /** When it was spawned, in monotonic µs (where its --trace-gc clock starts, near enough). */
  readonly spawnedUs: number;
  /** The process and its children once serving (nginx: master and worker). */
  pids: number[];
}

const samples: Sample[] = [];
const windows = new Map<Sample, { fromUs: number; toUs: number }>();
const errors: string[] = [];
const notes: string[] = [];
const running = new Map<TargetName | "upstream", Running>();
const idleRssKB: Partial<Record<TargetName, number>> = {};
const vireoMemory: RuntimeMemory[] = [];
const profiles: Results["profiles"] = {};
const gc: Results["gc"] = {};
const loadAverage = (): number => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const loadBefore = loadAverage();
let stopping = false;
let controlPlane: ControlPlane | undefined;
let proxyMain: string | undefined;
/** Monotonic microseconds: the clock of V8's CPU profiles too. */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function results(): Results {
  return {
    settings,
    samples,
    idleRssKB,
    vireoMemory,
    loadAverage: { before: loadBefore, after: loadAverage() },
    gc,
    profiles,
    errors,
    notes,
  };
}

function watch(name: string, r: Running): void {
  r.child.once("exit", (code, signal) => {
    if (!stopping) errors.push(`${name} exited (${String(code ?? signal)}); logs in ${runDir}`);
  });
}

const profileFlags = (name: string): string[] => [
  "--cpu-prof",
  `--cpu-prof-dir=${join(runDir, "profile")}`,
  `--cpu-prof-name=${name}.cpuprofile`,
  "--cpu-prof-interval=500",
];

async function startVireo(
  upstreamPort: number,
  profileName: string | undefined,
): Promise<{ child: ChildProcess; port: number; adminPort: number }> {
  proxyMain ??= await buildProxy(CACHE, say);
  controlPlane ??= await startControlPlane(upstreamPort);
  const port = await freePort();
  const adminPort = await freePort();
  const statusPort = await freePort();
  const child = spawnProxy({
    main: proxyMain,
    xdsPort: controlPlane.port,
    port,
    adminPort,
    statusPort,
    role,
    logPath: join(runDir, `${profileName ?? "vireo"}.log`),
    where: onProxyCpu,
    env: settings.vireoEnv,
    nodeFlags: [
      ...settings.vireoNodeFlags,
      ...(profileName === undefined ? [] : profileFlags(profileName)),
      "--trace-gc",
    ],
  });
  return { child, port, adminPort };
}

function startProxy(p: Proxy, upstreamPort: number): Promise<Omit<Running, "pids" | "spawnedUs">> {
  const vars = { UPSTREAM_PORT: upstreamPort };
  const inline = profileInline ? p : undefined;
  switch (p) {
    case "nginx":
      return startNginx("nginx", runDir, vars, onProxyCpu);
    case "haproxy":
      return startHaproxy(runDir, vars, onProxyCpu);
    case "node":
    case "undici":
      return startNodeProxy(
        runDir,
        upstreamPort,
        onProxyCpu,
        [...(inline === undefined ? [] : profileFlags(inline)), "--trace-gc"],
        p,
        p,
      );
    case "vireo":
      return startVireo(upstreamPort, inline);
  }
}

async function startAll(): Promise<void> {
  const upstream = await startNginx("upstream", runDir, { BODY }, onLoadCpus);
  const up: Running = { ...upstream, spawnedUs: nowUs(), pids: [] };
  running.set("upstream", up);
  watch("upstream", up);
  await waitServing("upstream", upstream.port, SERVICE_HOST, upstream.child);
  running.set("direct", up);
  // Compiled and programmed before any spawn time is taken: --trace-gc counts from the spawn, and
  // a first compile (a minute) would otherwise shift every GC window of the run.
  if (proxies.includes("vireo")) {
    proxyMain ??= await buildProxy(CACHE, say);
    controlPlane ??= await startControlPlane(upstream.port);
  }
  for (const p of proxies) {
    const spawnedUs = nowUs();
    const r: Running = { ...(await startProxy(p, upstream.port)), spawnedUs, pids: [] };
    running.set(p, r);
    watch(p, r);
    await waitServing(p, r.port, SERVICE_HOST, r.child);
    r.pids = processTree(r.child.pid ?? 0);
    idleRssKB[p] = rssKB(r.pids);
    if (p === "vireo") await readVireoMemory("start");
    say(`${p}: serving on 127.0.0.1:${r.port} (pids ${r.pids.join(",")})`);
  }
}

/** vireo's heap and RSS as its admin port reports them (`vireo_proxy_*`, read at scrape time). */
async function readVireoMemory(after: RuntimeMemory["after"]): Promise<void> {
  const adminPort = running.get("vireo")?.adminPort;
  if (adminPort === undefined) return;
  const r = await get(adminPort, "127.0.0.1", "/stats/prometheus");
  const metric = (name: string): number => {
    const m = new RegExp(`^vireo_proxy_${name} (\\S+)$`, "m").exec(r.body);
    return Number(m?.[1] ?? Number.NaN) / 1024 / 1024;
  };
  vireoMemory.push({
    after,
    rssMB: metric("process_resident_memory_bytes"),
    heapTotalMB: metric("nodejs_heap_size_total_bytes"),
    heapUsedMB: metric("nodejs_heap_size_used_bytes"),
    externalMB: metric("nodejs_external_memory_bytes"),
  });
}

function loadAt(port: number, phase: Phase, seconds: number): LoadOptions {
  return {
    url: `http://127.0.0.1:${port}/`,
    host: SERVICE_HOST,
    connections: phase === "rate" ? settings.rateConnections : settings.saturationConnections,
    seconds,
    ...(phase === "rate" ? { rate: settings.rate } : {}),
    where: onLoadCpus,
  };
}

function portOf(target: TargetName | "upstream"): number {
  const r = running.get(target);
  if (r === undefined) throw new Error(`${target} is not running`);
  return r.port;
}

/** One wrk run with the proxy's CPU time, memory and each CPU's load read around it. */
async function measure(target: TargetName, phase: Phase, round: number): Promise<Sample> {
  const pids = target === "direct" ? [] : (running.get(target)?.pids ?? []);
  const seconds = phase === "rate" ? settings.rateSeconds : settings.saturationSeconds;
  const cpu0 = cpuSeconds(pids);
  const cores0 = coreTimes();
  let peak = rssKB(pids);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKB(pids));
  }, 100);
  const fromUs = nowUs();
  let wrk: WrkSummary;
  try {
    wrk = await runWrk(loadAt(portOf(target), phase, seconds));
  } finally {
    clearInterval(timer);
  }
  const toUs = nowUs();
  peak = Math.max(peak, rssKB(pids));
  const sample: Sample = {
    target,
    phase,
    round,
    wrk,
    rps: wrk.durationUs > 0 ? wrk.requests / (wrk.durationUs / 1e6) : 0,
    ...(target === "direct"
      ? {}
      : {
          proxyCpuSeconds: cpuSeconds(pids) - cpu0,
          rssPeakKB: peak,
          pssKB: pssKB(pids),
          anonKB: anonKB(pids),
        }),
    coreBusy: coreBusy(cores0, coreTimes(), cpus),
  };
  windows.set(sample, { fromUs, toUs });
  const failed = errorCount(wrk);
  if (failed > 0 || wrk.requests === 0) {
    errors.push(
      `${target}, ${phase}, round ${round + 1}: ${failed} failed of ${wrk.requests} requests ` +
        JSON.stringify(wrk.errors),
    );
  }
  return sample;
}

/** Rounds alternate the order of the targets (ABBA), so drifts in load fall on all alike. */
const order = (round: number): readonly TargetName[] =>
  round % 2 === 0 ? targets : [...targets].reverse();

async function runPhases(): Promise<void> {
  if (settings.warmupSeconds > 0) {
    for (const t of targets) await runWrk(loadAt(portOf(t), "rate", settings.warmupSeconds));
    say(`warmed up: ${settings.warmupSeconds} s at ${settings.rate} req/s each`);
  }
  for (const phase of ["rate", "saturation"] as const) {
    for (let round = 0; round < settings.rounds; round++) {
      // --tiny loads every target at once: it checks that everything works, not how fast.
      const groups = tiny ? [order(round)] : order(round).map((t) => [t]);
      for (const group of groups) {
        // Every run of a group ends before a failure of one stops the benchmark.
        const settled = await Promise.allSettled(group.map((t) => measure(t, phase, round)));
        const failed = settled.find((x) => x.status === "rejected");
        if (failed !== undefined) throw failed.reason;
        for (const s of settled.map((x) => (x as PromiseFulfilledResult<Sample>).value)) {
          samples.push(s);
          say(
            `${phase} round ${round + 1}/${settings.rounds} ${s.target}: ` +
              `${s.rps.toFixed(0)} req/s, p50 ${(s.wrk.latencyUs.p50 / 1000).toFixed(3)} ms, ` +
              `p99 ${(s.wrk.latencyUs.p99 / 1000).toFixed(3)} ms` +
              (s.rssPeakKB === undefined ? "" : `, RSS ${(s.rssPeakKB / 1024).toFixed(1)} MB`),
          );
        }
      }
    }
    await readVireoMemory(phase);
  }
}

/** GC pauses of vireo and the bare node proxy within their own runs, from their logs. */
async function readGc(): Promise<void> {
  for (const p of ["node", "undici", "vireo"] as const) {
    const r = running.get(p);
    if (r === undefined) continue;
    const events = parseTraceGc(await readFile(join(runDir, `${p}.log`), "utf8"));
    const byPhase: Partial<Record<Phase, GcSummary>> = {};
    for (const phase of ["rate", "saturation"] as const) {
      const ws = samples
        .filter((s) => s.target === p && s.phase === phase)
        .map((s) => windows.get(s))
        .filter((w) => w !== undefined)
        .map((w) => ({
          fromMs: (w.fromUs - r.spawnedUs) / 1000,
          toMs: (w.toUs - r.spawnedUs) / 1000,
        }));
      byPhase[phase] = gcInWindows(events, ws);
    }
    gc[p] = byPhase;
  }
}

function addNotes(): void {
  const f = figures(results());
  for (const t of targets) {
    const rate = f.rate[t];
    if (rate !== undefined && rate.rps < 0.95 * settings.rate) {
      notes.push(`${t} reached ${rate.rps.toFixed(0)} of ${settings.rate} req/s`);
    }
    const sat = f.saturation[t];
    if (
      t !== "direct" &&
      sat?.loadCoreBusy !== undefined &&
      sat.proxyCoreBusy !== undefined &&
      sat.loadCoreBusy > 0.95 &&
      sat.proxyCoreBusy < 0.9
    ) {
      notes.push(
        `${t} at saturation: the load CPU was ${(100 * sat.loadCoreBusy).toFixed(0)} % busy, ` +
          `the proxy's ${(100 * sat.proxyCoreBusy).toFixed(0)} %: wrk and the upstream, not ` +
          `${t}, set the pace, so its throughput is a floor`,
      );
    }
  }
  if (proxyCpu === undefined) notes.push("one CPU only: nothing pinned, throughput is shared");
  if (tiny)
    notes.push("--tiny: every target loaded at once for 1 s; no figure here means anything");
}

async function readProfile(name: string, window: { fromUs: number; toUs: number } | undefined) {
  const path = join(runDir, "profile", `${name}.cpuprofile`);
  return summarise(JSON.parse(await readFile(path, "utf8")) as CpuProfile, window);
}

/** The profiles of the proxies measured above (--tiny), over their last saturation run. */
async function profileInlineRuns(): Promise<void> {
  stopping = true;
  for (const p of ["node", "vireo"] as const) {
    const r = running.get(p);
    const last = samples.filter((s) => s.target === p && s.phase === "saturation").at(-1);
    if (r === undefined || last === undefined) continue;
    // The profile is written as the process exits.
    await stop(r.child);
    profiles[p] = {
      summary: await readProfile(p, windows.get(last)),
      requests: last.wrk.requests,
      rps: last.rps,
    };
  }
}

/** A separate proxy under the profiler at saturation; the figures above come from unprofiled ones. */
async function profileSeparately(p: "node" | "vireo", upstreamPort: number): Promise<ProfileRun> {
  const name = `${p}-profiled`;
  say(`profiling ${p}: ${profileSeconds} s at saturation`);
  const { child, port } =
    p === "vireo"
      ? await startVireo(upstreamPort, name)
      : await startNodeProxy(runDir, upstreamPort, onProxyCpu, profileFlags(name), name);
  let wrk: WrkSummary;
  let window: { fromUs: number; toUs: number };
  try {
    await waitServing(name, port, SERVICE_HOST, child);
    await runWrk(loadAt(port, "saturation", 1));
    const fromUs = nowUs();
    wrk = await runWrk(loadAt(port, "saturation", profileSeconds));
    window = { fromUs, toUs: nowUs() };
  } finally {
    await stop(child);
  }
  const rps = wrk.requests / (wrk.durationUs / 1e6);
  return { summary: await readProfile(name, window), requests: wrk.requests, rps };
}

try {
  say(`logs and results in ${runDir}`);
  await startAll();
  await runPhases();
  addNotes();
  await readGc();
  if (profileInline) {
    await profileInlineRuns();
  } else if (
    proxies.includes("vireo") &&
    !values["no-profile"] &&
    (values.profile || missesTargets(results()))
  ) {
    const upstreamPort = portOf("upstream");
    profiles.vireo = await profileSeparately("vireo", upstreamPort);
    profiles.node = await profileSeparately("node", upstreamPort);
  }
} catch (err) {
  errors.push(err instanceof Error ? err.message : String(err));
} finally {
  stopping = true;
  await Promise.all([...new Set([...running.values()].map((r) => r.child))].map(stop));
  await controlPlane?.close();
}

const final = results();
const resultsPath = join(runDir, "results.json");
await writeFile(
  resultsPath,
  `${JSON.stringify(
    {
      time: new Date().toISOString(),
      targets: TARGETS,
      figures: figures(final),
      pairedThroughput: {
        nginx: pairedRatio(final, "saturation", "nginx", (s) => s.rps),
        haproxy: pairedRatio(final, "saturation", "haproxy", (s) => s.rps),
        node: pairedRatio(final, "saturation", "node", (s) => s.rps),
        undici: pairedRatio(final, "saturation", "undici", (s) => s.rps),
      },
      ...final,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`${formatReport(final)}\nresults: ${resultsPath}\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
