import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { HttpWebhookRunner } from "../../../src/analysis/webhooks.js";
import { createLogger } from "../../../src/common/logger.js";
import type { WebhookSpec } from "../../../src/domain/rollout.js";

const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });
const ctx = { name: "podinfo", namespace: "demo", phase: "Progressing", checksum: "abc123" };

/** A receiver on port 0 answering with the given statuses in turn, recording bodies. */
async function receiver(
  statuses: number[],
  delayMs = 0,
): Promise<{ url: string; bodies: unknown[]; close: () => void }> {
  const bodies: unknown[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(data));
      const status = statuses[Math.min(i++, statuses.length - 1)] ?? 200;
      setTimeout(() => res.writeHead(status).end(status >= 400 ? "not approved" : ""), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => server.close() };
}

const hook = (url: string, over: Partial<WebhookSpec> = {}): WebhookSpec => ({
  name: "gate",
  type: "confirm-promotion",
  url,
  timeoutMs: 1000,
  retries: 0,
  ...over,
});

describe("HttpWebhookRunner", () => {
  it("posts Flagger's payload and opens on 2xx up to 202", async () => {
    const r = await receiver([202]);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { metadata: { token: "t" } })],
      "confirm-promotion",
      ctx,
    );
    assert.deepEqual(out, { ok: true, errored: false, details: ["gate: 202"] });
    assert.deepEqual(r.bodies, [
      {
        name: "podinfo",
        namespace: "demo",
        phase: "Progressing",
        checksum: "abc123",
        type: "confirm-promotion",
        metadata: { token: "t" },
      },
    ]);
    r.close();
  });

  it("treats 203 and 4xx as not approved, with the body in the details, and does not retry a refusal", async () => {
    const r = await receiver([403]);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { retries: 3 })],
      "confirm-promotion",
      ctx,
    );
    assert.deepEqual(out, { ok: false, errored: false, details: ["gate: 403 not approved"] });
    assert.equal(r.bodies.length, 1);
    r.close();
  });

  it("retries 5xx up to the configured count", async () => {
    const r = await receiver([503, 500, 200]);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { retries: 2 })],
      "confirm-promotion",
      ctx,
    );
    assert.equal(out.ok, true);
    assert.equal(r.bodies.length, 3);
    r.close();
  });

  it("reports 5xx still failing after the retries as errored (a failed check), not as a refusal", async () => {
    const r = await receiver([503, 500]);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { retries: 1 })],
      "confirm-promotion",
      ctx,
    );
    assert.deepEqual(out, { ok: false, errored: true, details: ["gate: 500 not approved"] });
    assert.equal(r.bodies.length, 2);
    r.close();
  });

  it("fails on timeout and says so", async () => {
    const r = await receiver([200], 500);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { timeoutMs: 100 })],
      "confirm-promotion",
      ctx,
    );
    assert.deepEqual(out, { ok: false, errored: true, details: ["gate: timeout after 100 ms"] });
    r.close();
  });

  it("calls only hooks of the asked type, and is ok with none", async () => {
    const r = await receiver([500]);
    const out = await new HttpWebhookRunner(log).call(
      [hook(r.url, { type: "rollback" })],
      "confirm-promotion",
      ctx,
    );
    assert.deepEqual(out, { ok: true, errored: false, details: [] });
    assert.equal(r.bodies.length, 0);
    r.close();
  });
});
