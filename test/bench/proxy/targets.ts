// The processes of the proxy benchmark other than vireo's: the upstream (nginx answering 1 KiB),
// nginx and haproxy as reverse proxies, each from a template in templates/ with its own config,
// logs and temporary files in the run's directory, on loopback ports of our choosing.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const HERE = dirname(fileURLToPath(import.meta.url));
const TEMPLATES = join(HERE, "templates");

/** The fixed response body: 1 KiB of printable text, the payload of Istio's benchmarks. */
export const BODY = "vireo-bench-1KiB.".repeat(64).slice(0, 1024);

/** Fills `{{NAME}}` from `vars`; a placeholder without a value is an error. */
export function render(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template: no value for {{${name}}}`);
    return String(v);
  });
}

/** A loopback port free at the time of asking. */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** One request with its own connection: status and body, or the error's message as status 0. */
export function get(
  port: number,
  host: string,
  path = "/",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path, headers: { host }, agent: false, timeout: 2000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => {
      resolve({ status: 0, body: e.message });
    });
  });
}

/** Polls until `port` answers 200 with the benchmark's body (through a proxy, from upstream). */
export async function waitServing(
  name: string,
  port: number,
  host: string,
  child: ChildProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${String(child.exitCode ?? child.signalCode)}) at start`);
    }
    const r = await get(port, host);
    if (r.status === 200 && r.body === BODY) return;
    const last =
      r.status === 200
        ? `a ${r.body.length}-byte body that is not the upstream's`
        : `${r.status} ${r.body.slice(0, 200)}`;
    if (Date.now() > deadline)
      throw new Error(`${name}: not serving after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Started {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Where a process runs: pinned to these CPUs (`taskset`), or anywhere. */
export interface Placement {
  readonly cpus?: string;
}

/** `taskset --cpu-list <cpus> cmd…` (taskset execs, so the pid is the command's), or `cmd…`. */
export function placed(p: Placement, cmd: readonly string[]): [string, string[]] {
  const all = [...(p.cpus === undefined ? [] : ["taskset", "--cpu-list", p.cpus]), ...cmd];
  const [head, ...rest] = all;
  if (head === undefined) throw new Error("empty command");
  return [head, rest];
}

function startLogged(cmd: [string, string[]], logPath: string): ChildProcess {
  const child = spawn(cmd[0], cmd[1], { stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/**
 * nginx with templates/<template> rendered into `dir` (`upstream.nginx.conf` for the upstream,
 * `proxy.nginx.conf` for the reverse proxy), in the foreground, so that stopping the child
 * stops it.
 */
export async function startNginx(
  role: "upstream" | "nginx",
  dir: string,
  vars: Readonly<Record<string, string | number>>,
  where: Placement,
): Promise<Started> {
  const port = await freePort();
  const template = role === "upstream" ? "upstream.nginx.conf" : "proxy.nginx.conf";
  const conf = join(dir, `${role}.nginx.conf`);
  await mkdir(join(dir, "tmp"), { recursive: true });
  const text = render(await readFile(join(TEMPLATES, template), "utf8"), {
    ...vars,
    DIR: dir,
    PORT: port,
  });
  await writeFile(conf, text);
  const cmd = ["nginx", "-p", dir, "-c", conf, "-e", join(dir, `${role}.log`), "-g", "daemon off;"];
  const child = startLogged(placed(where, cmd), join(dir, `${role}.out`));
  return { child, port };
}

/** haproxy with templates/haproxy.cfg rendered into `dir`, in the foreground. */
export async function startHaproxy(
  dir: string,
  vars: Readonly<Record<string, string | number>>,
  where: Placement,
): Promise<Started> {
  const port = await freePort();
  const cfg = join(dir, "haproxy.cfg");
  const text = render(await readFile(join(TEMPLATES, "haproxy.cfg"), "utf8"), {
    ...vars,
    PORT: port,
  });
  await writeFile(cfg, text);
  const child = startLogged(placed(where, ["haproxy", "-db", "-f", cfg]), join(dir, "haproxy.log"));
  return { child, port };
}

/** The bare proxies written in TypeScript here: node:http both ways, or undici upstream. */
export type FloorProxy = "node" | "undici";

/**
 * node-proxy.ts (or undici-proxy.ts), transpiled into `dir` and run as plain JavaScript; its
 * "undici" import is pointed at the project's copy, which `dir` cannot find by itself.
 */
export async function startNodeProxy(
  dir: string,
  upstreamPort: number,
  where: Placement,
  nodeFlags: readonly string[] = [],
  name = "node",
  floor: FloorProxy = "node",
): Promise<Started> {
  const port = await freePort();
  const js = join(dir, `${floor}-proxy.mjs`);
  const source = await readFile(join(HERE, `${floor}-proxy.ts`), "utf8");
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const undici = JSON.stringify(import.meta.resolve("undici"));
  await writeFile(js, out.outputText.replaceAll(' from "undici"', ` from ${undici}`));
  const cmd = [process.execPath, ...nodeFlags, js, String(port), String(upstreamPort)];
  const child = startLogged(placed(where, cmd), join(dir, `${name}.log`));
  return { child, port };
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
