// The load generator behind a webhook, as Flagger's loadtester: a Rollout's `rollout` or
// `pre-rollout` webhook posts here and a run of loadgen.ts starts, so the canary gets traffic
// while it is analysed. The webhook's metadata says what to load:
//
//   webhooks:
//     - name: load
//       type: rollout
//       url: http://loadgen-webhook.demo/
//       metadata: { url: "http://podinfo-canary.demo:9898/", rps: "20", duration: "30s" }
//
// `rollout` webhooks are called every analysis interval: a call while the same run (same Rollout,
// revision and URL) is still going answers 200 without starting another. `blocking: "true"` waits
// for the run and answers 400 if any request failed (5xx or no answer): a pre-rollout smoke test.
// HTTP_PROXY, when set, is passed on (loadgen.ts then sends through the pod's vireo proxy).
//
//   node --import tsx examples/loadgen/webhook.ts --port 8080
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8080" },
    host: { type: "string", default: "0.0.0.0" },
    "max-runs": { type: "string", default: "16" },
  },
});

const LOADGEN = join(dirname(fileURLToPath(import.meta.url)), "loadgen.ts");
const MAX_RUNS = Number(values["max-runs"]);
const MAX_DURATION_S = 3600;

interface Run {
  readonly key: string;
  readonly args: readonly string[];
  readonly startedAt: string;
  /** The loadgen's `total` line (JSON), once it exited. */
  readonly done: Promise<Record<string, unknown> | undefined>;
}

const runs = new Map<string, Run>();

/** "30s", "2m", "1m30s" or a number of seconds. */
function seconds(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (m === null || text === "") return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

type Parsed =
  | { readonly ok: true; readonly key: string; readonly args: string[]; readonly blocking: boolean }
  | { readonly ok: false; readonly message: string };

/** The loadgen arguments a webhook call asks for, or why it cannot be served. */
function parseCall(body: unknown): Parsed {
  if (typeof body !== "object" || body === null) return { ok: false, message: "not a JSON object" };
  const b = body as Record<string, unknown>;
  const meta = (typeof b.metadata === "object" && b.metadata !== null ? b.metadata : {}) as Record<
    string,
    unknown
  >;
  const str = (k: string): string | undefined =>
    typeof meta[k] === "string" ? meta[k] : undefined;
  const urls = (str("url") ?? "").split(/\s+/).filter((u) => u !== "");
  if (urls.length === 0) return { ok: false, message: "metadata.url is required" };
  for (const u of urls) {
    if (!/^http:\/\/[^/]+/.test(u)) return { ok: false, message: `metadata.url ${u}: not http://` };
  }
  const rps = Number(str("rps") ?? "10");
  if (!Number.isFinite(rps) || rps <= 0 || rps > 10_000) {
    return { ok: false, message: `metadata.rps ${String(str("rps"))}: not in (0, 10000]` };
  }
  const duration = seconds(str("duration") ?? "60s");
  if (duration === undefined || duration <= 0 || duration > MAX_DURATION_S) {
    return { ok: false, message: `metadata.duration ${String(str("duration"))}: 1s to 1h` };
  }
  const header = str("header");
  const args = [
    ...urls.flatMap((u) => ["--url", u]),
    "--rps",
    String(rps),
    "--duration-s",
    String(duration),
    "--json",
    ...(header === undefined ? [] : ["--header", header]),
  ];
  const who = `${String(b.namespace)}/${String(b.name)}@${String(b.checksum)}`;
  return { ok: true, key: `${who} ${args.join(" ")}`, args, blocking: str("blocking") === "true" };
}

function start(key: string, args: readonly string[]): Run {
  const child = spawn(process.execPath, ["--import", "tsx", LOADGEN, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let last = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    process.stdout.write(chunk);
    last = (last + chunk).split("\n").slice(-3).join("\n");
  });
  const done = new Promise<Record<string, unknown> | undefined>((resolve) => {
    child.on("close", () => {
      runs.delete(key);
      const total = last
        .split("\n")
        .filter((l) => l.includes('"time":"total"'))
        .at(-1);
      resolve(total === undefined ? undefined : (JSON.parse(total) as Record<string, unknown>));
    });
  });
  const run: Run = { key, args, startedAt: new Date().toISOString(), done };
  runs.set(key, run);
  process.stderr.write(`loadgen-webhook: started ${key}\n`);
  return run;
}

function answer(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(`${text}\n`);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method === "GET") {
    if (req.url === "/healthz") {
      answer(res, 200, "ok");
      return;
    }
    const list = [...runs.values()].map((r) => ({ key: r.key, startedAt: r.startedAt }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(list)}\n`);
    return;
  }
  if (req.method !== "POST") {
    answer(res, 405, "POST a webhook payload");
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    answer(res, 400, "the body is not JSON");
    return;
  }
  const call = parseCall(body);
  if (!call.ok) {
    answer(res, 400, call.message);
    return;
  }
  const running = runs.get(call.key);
  if (running !== undefined && !call.blocking) {
    answer(res, 200, `already running since ${running.startedAt}`);
    return;
  }
  if (running === undefined && runs.size >= MAX_RUNS) {
    answer(res, 429, `${runs.size} runs already going`);
    return;
  }
  const run = running ?? start(call.key, call.args);
  if (!call.blocking) {
    answer(res, 200, `started: ${call.args.join(" ")}`);
    return;
  }
  const total = await run.done;
  if (total === undefined) {
    answer(res, 500, "the load generator ended without a total");
    return;
  }
  const failed = Number(total["5xx"] ?? 0) + Number(total.errors ?? 0);
  answer(res, failed === 0 ? 200 : 400, JSON.stringify(total));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    answer(res, 500, err instanceof Error ? err.message : String(err));
  });
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`loadgen-webhook listening on :${port}\n`);
});

process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
