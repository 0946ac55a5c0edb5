// The example load generator behind a webhook (examples/loadgen/webhook.ts), called by vireo's own
// webhook runner: a `rollout` call starts load on a local target, a repeat does not double it, and
// a blocking `pre-rollout` call passes or fails with what the target answered.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { HttpWebhookRunner } from "../../../src/analysis/webhooks.js";
import { createLogger } from "../../../src/common/logger.js";
import type { WebhookSpec, WebhookType } from "../../../src/domain/rollout.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

interface Target {
  readonly url: string;
  hits: number;
  status: number;
  close(): Promise<void>;
}

async function target(): Promise<Target> {
  const t = { hits: 0, status: 200 };
  const server = http.createServer((_req, res) => {
    t.hits += 1;
    res.writeHead(t.status);
    res.end("version: v2\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(t, {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  });
}

async function startWebhook(): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...process.env, HTTP_PROXY: "", http_proxy: "" };
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "examples/loadgen/webhook.ts"), "--port", "0"],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (c: string) => {
      out += c;
      const m = /listening on :(\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once("exit", (code) => {
      reject(new Error(`webhook server exited with ${String(code)}: ${out}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}/` };
}

describe("examples/loadgen/webhook.ts through vireo's webhook runner", function () {
  this.timeout(30_000);
  let server: { child: ChildProcess; url: string };
  let t: Target;
  const runner = new HttpWebhookRunner(createLogger({ component: "test", level: "error" }));

  function hook(type: WebhookType, metadata: Record<string, string>): WebhookSpec {
    return { name: "load", type, url: server.url, timeoutMs: 15_000, retries: 0, metadata };
  }

  const ctx = { name: "podinfo", namespace: "demo", phase: "Progressing", checksum: "r2" };

  before(async () => {
    server = await startWebhook();
  });

  after(() => {
    server.child.kill("SIGTERM");
  });

  beforeEach(async () => {
    t = await target();
  });

  afterEach(async () => {
    await t.close();
  });

  it("starts load on a rollout call and does not start it twice while it runs", async () => {
    const h = hook("rollout", { url: t.url, rps: "40", duration: "2s" });
    const first = await runner.call([h], "rollout", ctx);
    assert.deepEqual(first, { ok: true, errored: false, details: ["load: 200"] });
    const again = await runner.call([h], "rollout", ctx);
    assert.equal(again.ok, true);
    const runs = (await (await fetch(server.url)).json()) as unknown[];
    assert.equal(runs.length, 1, JSON.stringify(runs));
    // The run ends on its own after its duration (plus start-up and a drain of up to 2 s).
    for (let waited = 0; waited < 15_000; waited += 250) {
      const left = (await (await fetch(server.url)).json()) as unknown[];
      if (left.length === 0) break;
      await sleep(250);
    }
    assert.deepEqual(await (await fetch(server.url)).json(), []);
    // 40 req/s for 2 s from one run; two runs would have sent about twice as many.
    assert.ok(t.hits >= 40 && t.hits <= 100, `${t.hits} requests`);
  });

  it("passes a blocking pre-rollout call when every request succeeds", async () => {
    const h = hook("pre-rollout", { url: t.url, rps: "20", duration: "1s", blocking: "true" });
    const out = await runner.call([h], "pre-rollout", ctx);
    assert.deepEqual(out, { ok: true, errored: false, details: ["load: 200"] });
    assert.ok(t.hits >= 10, `${t.hits} requests`);
  });

  it("fails a blocking pre-rollout call when the target answers 5xx, saying how many", async () => {
    t.status = 503;
    const h = hook("pre-rollout", { url: t.url, rps: "20", duration: "1s", blocking: "true" });
    const out = await runner.call([h], "pre-rollout", ctx);
    assert.equal(out.ok, false);
    assert.match(out.details[0] ?? "", /^load: 400 .*"5xx":\d+/);
  });

  it("refuses a call without a URL to load", async () => {
    const out = await runner.call([hook("rollout", { rps: "5" })], "rollout", ctx);
    assert.deepEqual(out, {
      ok: false,
      errored: false,
      details: ["load: 400 metadata.url is required\n"],
    });
  });
});
