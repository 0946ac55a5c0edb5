import assert from "node:assert/strict";
import { FakeClock } from "../../../src/common/clock.js";
import { WorkQueue } from "../../../src/reconciler/work-queue.js";

describe("WorkQueue", () => {
  it("deduplicates keys and hands them out in order", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    q.add("b");
    q.add("a");
    assert.equal(q.depth, 2);
    assert.equal(await q.next(), "a");
    assert.equal(await q.next(), "b");
  });

  it("never gives a key to two workers; a change while processing queues it again after", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    const k = await q.next();
    q.add("a");
    assert.equal(q.depth, 0, "held back while processing");
    q.done(k ?? "");
    assert.equal(q.depth, 1);
  });

  it("wakes a waiting worker", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.next();
    q.add("x");
    assert.equal(await p, "x");
  });

  it("backs off failures exponentially per key and resets on forget", async () => {
    const clock = new FakeClock(0);
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock.now();
      q.addRateLimited("k");
      while (q.depth === 0) await clock.advance(10);
      delays.push(clock.now() - before);
      q.done((await q.next()) ?? "");
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
    q.forget("k");
    const before = clock.now();
    q.addRateLimited("k");
    while (q.depth === 0) await clock.advance(10);
    assert.equal(clock.now() - before, 100);
  });

  it("keeps the sooner of two delays for a key", async () => {
    const clock = new FakeClock(0);
    const q = new WorkQueue({ clock });
    q.addAfter("k", 1000);
    q.addAfter("k", 200);
    q.addAfter("k", 5000);
    await clock.advance(200);
    assert.equal(q.depth, 1);
    await clock.advance(5000);
    assert.equal(q.depth, 1, "the later timers were dropped");
  });

  it("releases waiting workers on shutdown", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.next();
    q.shutDown();
    assert.equal(await p, undefined);
  });
});
