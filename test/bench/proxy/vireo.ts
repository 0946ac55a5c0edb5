// vireo's side of the proxy benchmark: the proxy compiled to JavaScript (as it ships, without
// tsx's loader thread in its memory), and an in-process control plane that programs it with one
// Service under a Rollout whose primary and canary both point at the benchmark's upstream.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { ClusterState } from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import type { Placement } from "./targets.js";
import { placed } from "./targets.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** Namespace and Host the benchmark's requests carry; the proxy routes them by this name. */
export const NAMESPACE = "bench";
export const SERVICE_HOST = `web.${NAMESPACE}`;
const KEEP_BUILDS = 3;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith(".ts") || e.name.endsWith(".json")) out.push(p);
  }
  return out;
}

/**
 * Compiles src/ and mesh/ (tsconfig.build.json, types not checked: `make typecheck` does that)
 * into `<cache>/proxy-js-<hash of the sources>/`, once per source hash, with a node_modules link
 * so the output resolves the repository's packages. Returns the proxy's entry point.
 */
export async function buildProxy(cache: string, say: (line: string) => void): Promise<string> {
  const files = [
    ...(await sourceFiles(join(REPO, "src"))),
    ...(await sourceFiles(join(REPO, "mesh"))),
    ...["tsconfig.json", "tsconfig.build.json", "package-lock.json"].map((f) => join(REPO, f)),
  ].sort();
  const hash = createHash("sha256");
  for (const f of files)
    hash
      .update(relative(REPO, f))
      .update("\0")
      .update(await readFile(f));
  const name = `proxy-js-${hash.digest("hex").slice(0, 16)}`;
  const out = join(cache, name);
  const main = join(out, "mesh", "main.js");
  if (await exists(join(out, ".complete"))) return main;

  say(`compiling the proxy into ${out}`);
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const tsc = join(REPO, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "-p", join(REPO, "tsconfig.build.json"), "--outDir", tmp, "--noCheck"];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (b: Buffer) => (log += b.toString()));
  child.stderr.on("data", (b: Buffer) => (log += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`tsc exited with ${String(code)}: ${log.slice(0, 2000)}`);
  await symlink(join(REPO, "node_modules"), join(tmp, "node_modules"), "dir");
  await writeFile(join(tmp, ".complete"), `${new Date().toISOString()}\n`);
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
  // Only the newest few builds stay.
  const builds = await Promise.all(
    (await readdir(cache))
      .filter((d) => d.startsWith("proxy-js-") && d !== name && !d.includes(".tmp-"))
      .map(async (d) => ({ d, t: (await stat(join(cache, d))).mtimeMs })),
  );
  builds.sort((a, b) => b.t - a.t);
  await Promise.all(
    builds
      .slice(KEEP_BUILDS - 1)
      .map((b) => rm(join(cache, b.d), { recursive: true, force: true })),
  );
  return main;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `web` (apex, under a Rollout at 10 % canary), `web-primary` and `web-canary`: one upstream. */
export function benchState(upstreamPort: number): ClusterState {
  const svc = (name: string) => ({
    namespace: NAMESPACE,
    name,
    ports: [{ name: "http", port: 80, protocol: "http" as const }],
  });
  const endpoints = [{ address: "127.0.0.1", ports: { http: upstreamPort }, ready: true }];
  return {
    services: [svc("web"), svc("web-primary"), svc("web-canary")],
    endpoints: ["web", "web-primary", "web-canary"].map((service) => ({
      namespace: NAMESPACE,
      service,
      endpoints,
    })),
    routing: [
      {
        namespace: NAMESPACE,
        service: "web",
        primary: "web-primary",
        canary: "web-canary",
        canaryWeight: 10,
      },
    ],
  };
}

export interface ControlPlane {
  readonly port: number;
  close(): Promise<void>;
}

/** vireo's xDS server in this process, serving benchState() to every proxy that connects. */
export async function startControlPlane(upstreamPort: number): Promise<ControlPlane> {
  const log = createLogger({ component: "bench-xds", stream: new PassThrough(), level: "error" });
  const server = new XdsServer({ log, clock: systemClock });
  const port = await server.listen(0);
  server.setSnapshot(buildSnapshot(1, translate(benchState(upstreamPort)), loadXdsProtos().codecs));
  return { port, close: () => server.close() };
}

export interface ProxySpawn {
  readonly main: string;
  readonly xdsPort: number;
  readonly port: number;
  readonly adminPort: number;
  /**
   * The status port (default 15020): given a free one, so that a second proxy (the profiled one,
   * started while the measured one runs) or another run on the machine does not collide on it.
   */
  readonly statusPort: number;
  readonly role: "sidecar" | "gateway";
  readonly logPath: string;
  readonly where: Placement;
  /** Extra node flags, such as --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** Extra environment, such as MALLOC_ARENA_MAX. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `node <main>` the way a sidecar (outbound port) or a gateway runs it. */
export function spawnProxy(o: ProxySpawn): ReturnType<typeof spawn> {
  const listen =
    o.role === "gateway"
      ? ["--role", "gateway", "--gateway-port", String(o.port)]
      : ["--outbound-port", String(o.port)];
  const node = [
    process.execPath,
    ...(o.nodeFlags ?? []),
    o.main,
    "--xds",
    `127.0.0.1:${o.xdsPort}`,
    ...listen,
    "--admin-port",
    String(o.adminPort),
    "--status-port",
    String(o.statusPort),
    "--log-level",
    "warn",
  ];
  const [cmd, args] = placed(o.where, node);
  const child = spawn(cmd, args, {
    cwd: REPO,
    env: {
      ...process.env,
      POD_NAMESPACE: NAMESPACE,
      POD_NAME: "bench-client-7d9f8-x2k4p",
      VIREO_WORKLOAD_NAME: "bench-client",
      ...o.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Its log (standard error) and any --trace-gc lines (standard output) in one file.
  const log = createWriteStream(o.logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}
