// What the proxy benchmark reads from /proc: the CPUs this process may use, a process and its
// children, their memory (VmRSS, Pss) and CPU time, and how busy each core was.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** `0-3,6` → [0, 1, 2, 3, 6]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [lo, hi] = part.split("-").map(Number);
    if (lo === undefined || !Number.isInteger(lo)) throw new Error(`bad CPU list "${list}"`);
    const end = hi ?? lo;
    for (let c = lo; c <= end; c++) cpus.push(c);
  }
  return cpus;
}

/** The CPUs this process may run on (`Cpus_allowed_list`). */
export function allowedCpus(): number[] {
  const status = readFileSync("/proc/self/status", "utf8");
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
  if (m?.[1] === undefined) throw new Error("no Cpus_allowed_list in /proc/self/status");
  return parseCpuList(m[1]);
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat
    .slice(stat.lastIndexOf(")") + 2)
    .trim()
    .split(" ");
}

/** `pid` and its descendants, by a scan of /proc (nginx's master and worker, for instance). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

let clockTicks: number | undefined;
/** USER_HZ, the unit of /proc's CPU times. */
function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return clockTicks;
}

/** User + system CPU seconds of these processes (all their threads); gone ones count 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    if (f !== undefined) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / ticksPerSecond();
}

/** Sum of VmRSS over these processes, in KiB (shared pages count once per process). */
export function rssKB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const m = /^VmRSS:\s*(\d+) kB$/m.exec(read(`/proc/${pid}/status`) ?? "");
    kb += Number(m?.[1] ?? 0);
  }
  return kb;
}

function smapsRollupKB(pids: readonly number[], field: RegExp): number {
  let kb = 0;
  for (const pid of pids) {
    const m = field.exec(read(`/proc/${pid}/smaps_rollup`) ?? "");
    kb += Number(m?.[1] ?? 0);
  }
  return kb;
}

/** Sum of Pss over these processes, in KiB: shared pages divided among their sharers. */
export function pssKB(pids: readonly number[]): number {
  return smapsRollupKB(pids, /^Pss:\s*(\d+) kB$/m);
}

/**
 * Sum of anonymous memory over these processes, in KiB: RSS without the file-backed pages (the
 * node binary's own 30-odd MB), what the process itself allocated.
 */
export function anonKB(pids: readonly number[]): number {
  return smapsRollupKB(pids, /^Anonymous:\s*(\d+) kB$/m);
}

/** Busy and total jiffies of each CPU since boot, from /proc/stat. */
export function coreTimes(): Map<number, { busy: number; total: number }> {
  const out = new Map<number, { busy: number; total: number }>();
  for (const line of (read("/proc/stat") ?? "").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const v = (m[2] ?? "").split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/** How busy each of `cpus` was between two coreTimes() readings, 0..1. */
export function coreBusy(
  before: ReadonlyMap<number, { busy: number; total: number }>,
  after: ReadonlyMap<number, { busy: number; total: number }>,
  cpus: readonly number[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of cpus) {
    const a = before.get(c);
    const b = after.get(c);
    if (a === undefined || b === undefined || b.total === a.total) continue;
    out[String(c)] = (b.busy - a.busy) / (b.total - a.total);
  }
  return out;
}
