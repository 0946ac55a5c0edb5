// The xDS benchmark (issue 4): go-control-plane and vireo's control plane serve the same resource
// dump to the same simulated ADS clients, with their weight changes interleaved in one run. Prints
// both and vireo's figures as ratios to the peer's. Fails only on errors, never on timing.
//   node --import tsx test/bench/xds/run.ts [--clients 1000] [--services 100] [--rounds 20] [--tiny]
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dumpSummary, makeDump } from "./make-config.js";
import type { ClientsReport, Side, SideResult } from "./report.js";
import { formatReport, TARGETS } from "./report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const KEEP_RUNS = 20;
const CACHE =
  process.env.VIREO_BENCH_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "vireo-bench");

const { values } = parseArgs({
  options: {
    clients: { type: "string" },
    services: { type: "string" },
    rounds: { type: "string" },
    warmup: { type: "string" },
    tiny: { type: "boolean", default: false },
    listeners: { type: "string", default: "vireo-outbound-http" },
    only: { type: "string" },
    "keep-dump": { type: "boolean", default: false },
  },
});
const count = (flag: string, value: string | undefined, fallback: number, min = 1): number => {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: expected an integer >= ${min}`);
  return n;
};
const tiny = values.tiny;
const clients = count("clients", values.clients, tiny ? 10 : 1000);
const services = count("services", values.services, tiny ? 5 : 100);
const rounds = count("rounds", values.rounds, tiny ? 3 : 20);
const warmup = count("warmup", values.warmup, 1, 0);
const ALL_SIDES: readonly Side[] = ["go-control-plane", "vireo"];
const only = ALL_SIDES.find((s) => s === values.only);
if (values.only !== undefined && only === undefined) {
  throw new Error(`--only: expected ${ALL_SIDES.join(" or ")}`);
}
const sides = only === undefined ? ALL_SIDES : [only];

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const runsDir = join(CACHE, "runs");
const runDir = join(runsDir, `xds-${stamp}`);
await mkdir(runDir, { recursive: true });
// Keep the newest runs' logs and results only.
const earlier = (await readdir(runsDir)).filter((d) => d.startsWith("xds-")).sort();
await Promise.all(
  earlier.slice(0, -KEEP_RUNS).map((d) => rm(join(runsDir, d), { recursive: true, force: true })),
);
const say = (line: string): void => {
  process.stderr.write(`[bench xds] ${line}\n`);
};

const bin = await buildGoPrograms();
const dump = makeDump({ services });
const dumpPath = join(runDir, "dump.json");
await writeFile(dumpPath, JSON.stringify(dump));
say(
  `${services} services: ${JSON.stringify(dumpSummary(dump))}; ${clients} clients, ${rounds} rounds; logs in ${runDir}`,
);

/** Runs build.sh (its progress on our standard error) and returns the binaries' directory. */
async function buildGoPrograms(): Promise<string> {
  const child = spawn(join(HERE, "build.sh"), { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`test/bench/xds/build.sh exited with ${String(code)}`);
  return out.trim().split("\n").at(-1) ?? "";
}

interface Ready {
  readonly xds: number;
  readonly control: number;
  readonly pid: number;
}

function startServer(side: Side): { child: ChildProcess; ready: Promise<Ready> } {
  const [cmd, args] =
    side === "go-control-plane"
      ? [join(bin, "gcp-peer"), ["-dump", dumpPath]]
      : [
          process.execPath,
          ["--expose-gc", "--import", "tsx", join(HERE, "ours.ts"), "--dump", dumpPath],
        ];
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.pipe(createWriteStream(join(runDir, `${side}.log`)));
  const ready = new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${side}: not serving after 60 s`));
    }, 60_000);
    child.once("exit", (code) => {
      reject(
        new Error(`${side} exited with ${String(code)} before serving; see ${runDir}/${side}.log`),
      );
    });
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Ready);
    });
  });
  return { child, ready };
}

/** One clients process for every started control plane: their rounds interleave. */
async function runClients(servers: ReadonlyMap<Side, Ready>): Promise<Map<Side, SideResult>> {
  const args = [
    ...[...servers].map(([side, s]) => [
      "-target",
      `${side},127.0.0.1:${s.xds},http://127.0.0.1:${s.control},${s.pid}`,
    ]),
    ["-dump", dumpPath],
    ["-clients", String(clients)],
    ["-rounds", String(rounds)],
    ["-warmup", String(warmup)],
    ["-listeners", values.listeners],
    ...(tiny
      ? [
          ["-settle", "200ms"],
          ["-gap", "50ms"],
        ]
      : []),
  ].flat();
  const child = spawn(join(bin, "clients"), args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.pipe(createWriteStream(join(runDir, "clients.log")));
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (out.trim() === "") {
    throw new Error(`clients exited with ${String(code)} and no report; see ${runDir}/clients.log`);
  }
  const reports = JSON.parse(out) as Partial<Record<Side, ClientsReport>>;
  return new Map(
    [...servers.keys()].map((side) => {
      const report = reports[side];
      const result: SideResult =
        report === undefined ? { errors: ["no report"] } : { report, errors: report.errors };
      return [side, result];
    }),
  );
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

const results: Partial<Record<Side, SideResult>> = {};
const children: ChildProcess[] = [];
try {
  const servers = new Map<Side, Ready>();
  for (const side of sides) {
    const { child, ready } = startServer(side);
    children.push(child);
    try {
      servers.set(side, await ready);
      say(`${side}: serving`);
    } catch (err) {
      results[side] = { errors: [err instanceof Error ? err.message : String(err)] };
      say(`${side}: ${results[side].errors.join("; ")}`);
    }
  }
  if (servers.size > 0) {
    try {
      for (const [side, r] of await runClients(servers)) results[side] = r;
    } catch (err) {
      for (const side of servers.keys()) {
        results[side] = { errors: [err instanceof Error ? err.message : String(err)] };
      }
    }
  }
} finally {
  await Promise.all(children.map(stop));
}
for (const [side, r] of Object.entries(results)) {
  if (r.errors.length > 0) say(`${side}: errors: ${r.errors.join("; ")}`);
}

const summary = {
  time: new Date().toISOString(),
  clients,
  services,
  rounds,
  warmup,
  listeners: values.listeners,
  resources: dumpSummary(dump),
  targets: TARGETS,
  results,
};
if (!values["keep-dump"]) await rm(dumpPath);
const resultsPath = join(runDir, "results.json");
await writeFile(resultsPath, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${formatReport(results)}\nresults: ${resultsPath}\n`);
const failed = Object.values(results).some((r) => r.errors.length > 0);
process.exitCode = failed ? 1 : 0;
