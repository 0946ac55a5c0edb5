// The proxy process's own gauges, read when scraped (nothing runs between scrapes: prom-client's
// default metrics woke the process 100 times a second for its event-loop monitor). Names are the
// ones prom-client's default metrics gave under the `vireo_proxy_` prefix; RssAnon is added
// because RSS alone hides how much of it is the binary's shared pages.
import { readdirSync, readFileSync } from "node:fs";
import { scalarFamily } from "./exposition.js";

const PREFIX = "vireo_proxy_";

/** `VmRSS`, `RssAnon`, … of /proc/self/status in bytes; empty off Linux. */
function procStatus(): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync("/proc/self/status", "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m !== null) out.set(m[1] ?? "", Number(m[2]) * 1024);
  }
  return out;
}

function openFds(): number | undefined {
  try {
    // One entry is the directory handle readdir itself opened.
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined;
  }
}

type Family = readonly [name: string, help: string, type: "counter" | "gauge", value: number];

/** The process families in exposition form, one string per family. */
export function processFamilies(): string[] {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const status = procStatus();
  const fds = openFds();
  const families: Family[] = [
    [
      "process_cpu_user_seconds_total",
      "Total user CPU time spent in seconds.",
      "counter",
      cpu.user / 1e6,
    ],
    [
      "process_cpu_system_seconds_total",
      "Total system CPU time spent in seconds.",
      "counter",
      cpu.system / 1e6,
    ],
    [
      "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.",
      "counter",
      (cpu.user + cpu.system) / 1e6,
    ],
    [
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      "gauge",
      Math.round(Date.now() / 1000 - process.uptime()),
    ],
    ["process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", mem.rss],
  ];
  const anon = status.get("RssAnon");
  if (anon !== undefined) {
    families.push([
      "process_anonymous_memory_bytes",
      "Resident anonymous memory (RssAnon) in bytes: RSS without file-backed pages.",
      "gauge",
      anon,
    ]);
  }
  const vsize = status.get("VmSize");
  if (vsize !== undefined) {
    families.push([
      "process_virtual_memory_bytes",
      "Virtual memory size in bytes.",
      "gauge",
      vsize,
    ]);
  }
  if (fds !== undefined) {
    families.push(["process_open_fds", "Number of open file descriptors.", "gauge", fds]);
  }
  families.push(
    [
      "nodejs_heap_size_total_bytes",
      "Process heap size from Node.js in bytes.",
      "gauge",
      mem.heapTotal,
    ],
    [
      "nodejs_heap_size_used_bytes",
      "Process heap size used from Node.js in bytes.",
      "gauge",
      mem.heapUsed,
    ],
    [
      "nodejs_external_memory_bytes",
      "Node.js external memory size in bytes.",
      "gauge",
      mem.external,
    ],
  );
  const out = families.map(([name, help, type, value]) =>
    scalarFamily(`${PREFIX}${name}`, help, type, [{ labels: "", value }]),
  );
  const [major, minor, patch] = process.versions.node.split(".");
  out.push(
    scalarFamily(`${PREFIX}nodejs_version_info`, "Node.js version info.", "gauge", [
      {
        labels: `version="${process.version}",major="${major ?? ""}",minor="${minor ?? ""}",patch="${patch ?? ""}"`,
        value: 1,
      },
    ]),
  );
  return out;
}
