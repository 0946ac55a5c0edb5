// Starting processes inside a pod's namespaces: its network namespace (unless hostNetwork), a
// private mount namespace with the pod's bind mounts, from the repo root or the workingDir.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { Mount } from "./volumes.js";

export interface Sandbox {
  /** Network namespace name, or undefined for hostNetwork pods. */
  readonly netns: string | undefined;
  readonly launcher: string;
  readonly repoRoot: string;
}

export async function writeMounts(path: string, mounts: readonly Mount[]): Promise<void> {
  // Parents first, so a mount below another lands on top of it.
  const sorted = [...mounts].sort((a, b) => a.target.length - b.target.length);
  await writeFile(
    path,
    sorted.map((m) => `${m.source}\t${m.target}\t${m.readOnly ? "ro" : "rw"}\n`).join(""),
  );
}

function wrap(
  sandbox: Sandbox,
  mountsFile: string,
  workdir: string,
  argv: readonly string[],
): string[] {
  const inMountNs = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    sandbox.launcher,
    mountsFile,
    workdir,
    "--",
    ...argv,
  ];
  return sandbox.netns === undefined
    ? inMountNs
    : ["ip", "netns", "exec", sandbox.netns, ...inMountNs];
}

/** Starts a container's main process in its own process group, output appended to `logFile`. */
export function startProcess(
  sandbox: Sandbox,
  mountsFile: string,
  workdir: string | undefined,
  argv: readonly string[],
  env: ReadonlyMap<string, string>,
  logFile: string,
): ChildProcess {
  const full = wrap(sandbox, mountsFile, workdir ?? sandbox.repoRoot, argv);
  const fd = openSync(logFile, "a");
  try {
    return spawn(full[0] ?? "sh", full.slice(1), {
      cwd: sandbox.repoRoot,
      env: Object.fromEntries(env),
      detached: true,
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
}

/** Runs a command the way `exec` probes do; resolves with its exit code and combined output. */
export function runInSandbox(
  sandbox: Sandbox,
  mountsFile: string,
  argv: readonly string[],
  env: ReadonlyMap<string, string>,
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  const full = wrap(sandbox, mountsFile, sandbox.repoRoot, argv);
  return new Promise((resolve) => {
    const child = spawn(full[0] ?? "sh", full.slice(1), {
      cwd: sandbox.repoRoot,
      env: Object.fromEntries(env),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (b: Buffer): void => {
      if (output.length < 4096) output += b.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => {
      signalGroup(child, "SIGKILL");
      output += `\ncommand timed out after ${timeoutMs}ms`;
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, output: err.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? 1 : 128 + signalNumber(signal)), output });
    });
  });
}

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

export function signalNumber(signal: NodeJS.Signals): number {
  return SIGNALS[signal] ?? 1;
}
