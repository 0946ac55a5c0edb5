import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpWebhookRunner } from "../../../src/analysis/webhooks.js";
import type { RolloutWire } from "../../../src/api/rollout-wire.js";
import { FakeClock } from "../../../src/common/clock.js";
import { EventWebhookRecorder } from "../../../src/kube/event-webhooks.js";
import type { RolloutEventRecorder } from "../../../src/kube/rollout-events.js";
import { recordingLog } from "../../support/recording-log.js";

/** A webhook receiver on loopback that answers only when told to. */
async function receiver(status: number): Promise<{
  url: string;
  bodies: unknown[];
  answer: () => void;
  close: () => Promise<void>;
}> {
  const bodies: unknown[] = [];
  const pending: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(data));
      pending.push(() => res.writeHead(status).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    bodies,
    answer: () => {
      for (const p of pending.splice(0)) p();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  };
}

function rolloutWith(webhooks: unknown[]): RolloutWire {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "podinfo", namespace: "demo" },
    spec: {
      targetRef: { kind: "Deployment", name: "podinfo" },
      service: { port: 9898 },
      strategy: { canary: { steps: [{ setWeight: 10 }] } },
      analysis: { webhooks },
    },
    status: { phase: "Progressing", canaryRevision: "7d9f" },
  } as unknown as RolloutWire;
}

function inner(): RolloutEventRecorder & { recorded: string[] } {
  const recorded: string[] = [];
  return {
    recorded,
    record: (_r, type, reason) => {
      recorded.push(`${type}:${reason}`);
      return Promise.resolve();
    },
  };
}

describe("EventWebhookRecorder", () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 4, 12, 0, 0));

  it("posts each recorded Event to the event webhooks, without waiting for their answer", async () => {
    const r = await receiver(200);
    const kube = inner();
    const log = recordingLog();
    const rec = new EventWebhookRecorder(kube, new HttpWebhookRunner(log), clock, log);
    const ro = rolloutWith([
      { name: "audit", type: "event", url: r.url, metadata: { team: "web" } },
      { name: "gate", type: "confirm-promotion", url: `${r.url}/gate` },
    ]);
    // record() resolves while the receiver still holds its answer: fire-and-forget.
    await rec.record(ro, "Warning", "GateFailed", "confirm-promotion webhooks did not answer");
    assert.deepEqual(kube.recorded, ["Warning:GateFailed"]);
    while (r.bodies.length === 0) await new Promise((res) => setImmediate(res));
    r.answer();
    await rec.idle();
    assert.deepEqual(r.bodies, [
      {
        name: "podinfo",
        namespace: "demo",
        phase: "Progressing",
        checksum: "7d9f",
        type: "event",
        metadata: {
          team: "web",
          eventMessage: "confirm-promotion webhooks did not answer",
          eventType: "Warning",
          eventReason: "GateFailed",
          timestamp: String(clock.now()),
        },
      },
    ]);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "warn"),
      [],
    );
    await r.close();
  });

  it("logs an event webhook that times out, and the Event is recorded all the same", async () => {
    const r = await receiver(200);
    const kube = inner();
    const log = recordingLog();
    const rec = new EventWebhookRecorder(kube, new HttpWebhookRunner(log), clock, log);
    await rec.record(
      rolloutWith([{ name: "audit", type: "event", url: r.url, timeout: "50ms" }]),
      "Normal",
      "Promoted",
      "promoted",
    );
    await rec.idle();
    assert.deepEqual(kube.recorded, ["Normal:Promoted"]);
    const warns = log.lines.filter((l) => l.level === "warn");
    assert.equal(warns.length, 1);
    assert.equal(warns[0]?.message, "event webhook failed");
    assert.deepEqual(warns[0]?.fields.details, ["audit: timeout after 50 ms"]);
    await r.close();
  });

  it("calls nothing for a Rollout without event webhooks", async () => {
    const r = await receiver(200);
    const kube = inner();
    const log = recordingLog();
    const rec = new EventWebhookRecorder(kube, new HttpWebhookRunner(log), clock, log);
    await rec.record(
      rolloutWith([{ name: "gate", type: "confirm-rollout", url: r.url }]),
      "Normal",
      "Promoted",
      "promoted",
    );
    await rec.idle();
    assert.deepEqual(kube.recorded, ["Normal:Promoted"]);
    assert.deepEqual(r.bodies, []);
    await r.close();
  });
});
