// Delivery: retries with back-off on 503, 429 with Retry-After, timeouts and network errors;
// refusals given up at once; one message per delivery id, also across a restart.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { Delivery } from "../../../src/notify/dispatcher.js";
import { Dispatcher, parseRetryAfter } from "../../../src/notify/dispatcher.js";
import type { RolloutKey } from "../../../src/notify/sent-log.js";
import { appendNotified, MemorySentLog, StatusSentLog } from "../../../src/notify/sent-log.js";
import { signature } from "../../../src/notify/webhook.js";
import type { Harness } from "../../support/notify-fixtures.js";
import {
  dispatcherHarness,
  FakeApi,
  kubeNotifier,
  notification,
  quietLog,
  rolloutSpec,
  transitionOf,
  UID,
} from "../../support/notify-fixtures.js";
import type { Reply } from "../../support/http-receiver.js";
import { OK, Receiver } from "../../support/http-receiver.js";

const ID = `${UID}/promoted/7d9f8c6b5/2025-12-31T23:30:00Z@demo/hook`;

function delivery(url: string, id = ID, destination = "AlertProvider demo/hook"): Delivery {
  return {
    id,
    destination,
    provider: "webhook",
    rollout: { namespace: "demo", name: "podinfo" },
    event: "promoted",
    request: { url, headers: { "content-type": "application/json" }, body: JSON.stringify({ id }) },
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const unavailable: Reply = { status: 503, body: "upstream unavailable" };

describe("Dispatcher", () => {
  let receiver: Receiver | undefined;
  let h: Harness;
  const start = async (replies: readonly Reply[]) => {
    receiver = await Receiver.start(replies);
    return receiver;
  };
  afterEach(async () => {
    await h.dispatcher.close();
    await receiver?.close();
    receiver = undefined;
  });

  it("retries a receiver that fails twice with 503 and delivers one message", async () => {
    h = dispatcherHarness();
    const r = await start([unavailable, unavailable, OK]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.accepted, 1);
    assert.equal(r.requests.length, 3);
    assert.deepEqual(new Set(r.requests.map((q) => q.body)), new Set([JSON.stringify({ id: ID })]));
    assert.deepEqual(h.clock.sleeps, [100, 200]);
    assert.deepEqual(h.failures, []);
    assert.deepEqual(await h.counts(), { "webhook/sent": 1 });
  });

  it("offered the same delivery again after it was sent, sends nothing", async () => {
    h = dispatcherHarness();
    const r = await start([OK]);
    h.dispatcher.enqueue(delivery(r.url()));
    h.dispatcher.enqueue(delivery(r.url())); // while queued
    await h.dispatcher.idle();
    h.dispatcher.enqueue(delivery(r.url())); // after it was sent
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 1);
    assert.deepEqual(await h.counts(), { "webhook/sent": 1, "webhook/duplicate": 2 });
  });

  it("waits what a 429's Retry-After asks, in seconds", async () => {
    h = dispatcherHarness();
    const r = await start([{ status: 429, headers: { "retry-after": "7" } }, OK]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.accepted, 1);
    assert.deepEqual(h.clock.sleeps, [7000]);
  });

  it("waits until a 429's Retry-After date", async () => {
    h = dispatcherHarness();
    const at = new Date(Date.now() + 30_000).toUTCString();
    const r = await start([{ status: 429, headers: { "retry-after": at } }, OK]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.accepted, 1);
    const [slept] = h.clock.sleeps;
    assert.ok(slept !== undefined && slept > 28_000 && slept <= 30_000, `slept ${slept}`);
  });

  it("gives up when Retry-After asks for longer than it may wait", async () => {
    h = dispatcherHarness({ maxDelayMs: 60_000 });
    const r = await start([{ status: 429, headers: { "retry-after": "3600" }, body: "slow down" }]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 1);
    assert.deepEqual(
      h.failures.map((f) => f.reason),
      ["HTTP 429 slow down; Retry-After asks for 3600000 ms, more than 60000 ms"],
    );
  });

  it("retries a request that timed out", async () => {
    h = dispatcherHarness({ timeoutMs: 150 });
    const r = await start(["hang", OK]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 2);
    assert.equal(r.accepted, 1);
    assert.deepEqual(h.clock.sleeps, [100]);
    assert.deepEqual(h.failures, []);
  });

  it("gives up after maxAttempts with exponential back-off, and reports it once", async () => {
    h = dispatcherHarness({ maxAttempts: 4, maxDelayMs: 300 });
    const r = await start([unavailable]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 4);
    assert.deepEqual(h.clock.sleeps, [100, 200, 300]);
    assert.deepEqual(h.failures, [
      {
        id: ID,
        destination: "AlertProvider demo/hook",
        provider: "webhook",
        rollout: { namespace: "demo", name: "podinfo" },
        event: "promoted",
        attempts: 4,
        reason: "HTTP 503 upstream unavailable; gave up after 4 attempts",
      },
    ]);
    assert.deepEqual(await h.counts(), { "webhook/failed": 1 });
  });

  it("does not retry a refusal (4xx other than 429)", async () => {
    h = dispatcherHarness();
    const r = await start([{ status: 404, body: "channel_not_found" }]);
    h.dispatcher.enqueue(delivery(r.url()));
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 1);
    assert.deepEqual(
      h.failures.map((f) => [f.attempts, f.reason]),
      [[1, "HTTP 404 channel_not_found"]],
    );
  });

  it("retries network errors", async () => {
    h = dispatcherHarness({ maxAttempts: 2 });
    const r = await start([OK]);
    const url = r.url();
    await r.close();
    receiver = undefined;
    h.dispatcher.enqueue(delivery(url));
    await h.dispatcher.idle();
    assert.equal(h.failures.length, 1);
    assert.match(
      h.failures[0]?.reason ?? "",
      /^fetch failed: .*ECONNREFUSED.*; gave up after 2 attempts$/,
    );
  });

  it("keeps one provider's order, and a stuck provider holds up no other", async () => {
    h = dispatcherHarness({ timeoutMs: 300 });
    const slow = await start(["hang", OK]);
    const fast = await Receiver.start([OK]);
    try {
      h.dispatcher.enqueue(delivery(slow.url(), "a", "slow"));
      h.dispatcher.enqueue(delivery(slow.url(), "b", "slow"));
      h.dispatcher.enqueue(delivery(fast.url(), "c", "fast"));
      await until("the fast provider's message", () => fast.accepted === 1);
      assert.equal(slow.accepted, 0);
      await h.dispatcher.idle();
      assert.deepEqual(
        slow.requests.map((q) => q.body),
        ['{"id":"a"}', '{"id":"a"}', '{"id":"b"}'],
      );
      assert.equal(slow.accepted, 2);
    } finally {
      await fast.close();
    }
  });

  it("refuses deliveries beyond maxQueued and reports them", async () => {
    h = dispatcherHarness({ maxQueued: 1 });
    const r = await start([OK]);
    h.dispatcher.enqueue(delivery(r.url(), "a"));
    h.dispatcher.enqueue(delivery(r.url(), "b"));
    await h.dispatcher.idle();
    assert.equal(r.requests.length, 1);
    assert.deepEqual(
      h.failures.map((f) => [f.id, f.reason]),
      [["b", "1 notifications are already waiting"]],
    );
    assert.deepEqual(await h.counts(), { "webhook/sent": 1, "webhook/dropped": 1 });
  });

  it("never throws into the caller: not when onFailure throws, nor after close", async () => {
    h = dispatcherHarness();
    const throwing = new Dispatcher({
      clock: h.clock,
      log: quietLog,
      sentLog: new MemorySentLog(),
      counter: { inc: () => undefined },
      onFailure: () => {
        throw new Error("boom");
      },
    });
    const r = await start([{ status: 400 }]);
    throwing.enqueue(delivery(r.url()));
    await throwing.idle();
    await throwing.close();
    throwing.enqueue(delivery(r.url(), "after close"));
    await throwing.idle();
    assert.equal(r.requests.length, 1);
  });

  describe("across a restart", () => {
    it("a message the old instance could not deliver is sent once by the new one", async () => {
      const sentLog = new MemorySentLog();
      h = dispatcherHarness({ maxAttempts: 10 }, sentLog);
      const r = await start(["hang"]);
      h.dispatcher.enqueue(delivery(r.url()));
      await until("the first request", () => r.requests.length === 1);
      await h.dispatcher.close(); // the controller stops mid-request
      assert.equal(r.accepted, 0);

      receiver = undefined;
      await r.close();
      const up = await start([OK]);
      h = dispatcherHarness({}, sentLog);
      h.dispatcher.enqueue(delivery(up.url())); // the next leader plans the transition again
      await h.dispatcher.idle();
      assert.equal(up.accepted, 1);
      assert.deepEqual(h.failures, []);
    });

    it("a message delivered and written to the status is not sent again by the next leader", async () => {
      const rollout: RolloutKey = { uid: UID, namespace: "demo", name: "podinfo" };
      const requeued: RolloutKey[] = [];
      const before = new StatusSentLog((k) => requeued.push(k));
      before.observed(rollout, undefined);
      h = dispatcherHarness({}, before);
      const r = await start([OK]);
      h.dispatcher.enqueue(delivery(r.url()));
      await h.dispatcher.idle();
      assert.deepEqual(requeued, [rollout]);
      // The reconcile that follows writes what was delivered into the status...
      const notified = appendNotified(["older"], before.settled(UID));
      assert.deepEqual(notified, ["older", ID]);
      await h.dispatcher.close();

      // ...and a new controller, which knows only the status, plans the transition again.
      const after = new StatusSentLog();
      after.observed(rollout, notified);
      h = dispatcherHarness({}, after);
      h.dispatcher.enqueue(delivery(r.url()));
      await h.dispatcher.idle();
      assert.equal(r.requests.length, 1);
      assert.deepEqual(await h.counts(), { "webhook/duplicate": 1 });
    });

    it("a transition planned again before its status was written is sent once", async () => {
      h = dispatcherHarness();
      const r = await start([unavailable, OK]);
      const api = new FakeApi().provider("demo", "hook", { type: "webhook", address: r.url() });
      const spec = rolloutSpec([{ name: "t", severity: "info", providerRef: { name: "hook" } }]);
      const n = notification(transitionOf("rolledBack"), spec);
      const first = kubeNotifier(api, h);
      await first.notify(n); // reconcile 1: the status write that follows fails
      await first.idle();
      const second = kubeNotifier(api, h);
      await second.notify(n); // reconcile 2 plans the same transition
      await second.idle();
      assert.equal(r.accepted, 1);
    });
  });

  it("signs the generic webhook's body with HMAC-SHA256 of the exact bytes", async () => {
    h = dispatcherHarness();
    const r = await start([OK]);
    const api = new FakeApi()
      .provider("demo", "hook", {
        type: "webhook",
        address: r.url(),
        signingSecretRef: { name: "hook-key" },
      })
      .secret("demo", "hook-key", { hmacKey: "s3cr3t-k3y" });
    const spec = rolloutSpec([{ name: "t", severity: "info", providerRef: { name: "hook" } }]);
    const notifier = kubeNotifier(api, h);
    await notifier.notify(notification(transitionOf("promoted"), spec));
    await notifier.idle();
    const [got] = r.requests;
    assert.ok(got !== undefined);
    const expected = `sha256=${createHmac("sha256", "s3cr3t-k3y").update(got.body).digest("hex")}`;
    assert.equal(got.headers["x-vireo-signature"], expected);
    assert.equal(signature(Buffer.from("s3cr3t-k3y"), got.body), expected);
    assert.notEqual(signature(Buffer.from("other"), got.body), expected);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const cases: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ["0", 0],
    ["7", 7000],
    ["0.25", 250],
    [" 2 ", 2000],
    ["Thu, 01 Jan 2026 00:00:30 GMT", 30_000],
    ["Wed, 31 Dec 2025 23:00:00 GMT", 0],
    ["soon", undefined],
  ];
  for (const [value, want] of cases) {
    it(`${JSON.stringify(value)} → ${String(want)}`, () => {
      assert.equal(parseRetryAfter(value, now), want);
    });
  }
});
