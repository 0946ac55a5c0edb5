import assert from "node:assert/strict";
import { FakeClock, systemClock } from "../../../src/common/clock.js";

describe("FakeClock", () => {
  it("fires timers in due order, only when time reaches them", async () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push("30"));
    clock.setTimer(10, () => fired.push("10"));
    clock.setTimer(10, () => fired.push("10b"));
    await clock.advance(9);
    assert.deepEqual(fired, []);
    assert.equal(clock.now(), 1009);
    await clock.advance(21);
    assert.deepEqual(fired, ["10", "10b", "30"]);
    assert.equal(clock.now(), 1030);
    assert.equal(clock.pending, 0);
  });

  it("does not fire cancelled timers", async () => {
    const clock = new FakeClock();
    let fired = false;
    const t = clock.setTimer(5, () => (fired = true));
    t.cancel();
    await clock.advance(10);
    assert.equal(fired, false);
  });

  it("fires timers set by timers within the same advance", async () => {
    const clock = new FakeClock(0);
    const at: number[] = [];
    const tick = (): void => {
      at.push(clock.now());
      if (at.length < 3) clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    await clock.advance(1000);
    assert.deepEqual(at, [100, 200, 300]);
  });

  it("resolves sleep when time advances and lets awaiting code continue", async () => {
    const clock = new FakeClock(0);
    const seen: number[] = [];
    const task = (async () => {
      await clock.sleep(50);
      seen.push(clock.now());
      await clock.sleep(50);
      seen.push(clock.now());
    })();
    await clock.advance(100);
    await task;
    assert.deepEqual(seen, [50, 100]);
  });

  it("rejects sleep on abort and drops its timer", async () => {
    const clock = new FakeClock(0);
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort(new Error("stopping"));
    await assert.rejects(p, /stopping/);
    assert.equal(clock.pending, 0);
    await assert.rejects(clock.sleep(1, ac.signal), /stopping/);
  });
});

describe("systemClock", () => {
  it("sleeps for real time", async () => {
    const start = systemClock.now();
    await systemClock.sleep(20);
    assert.ok(systemClock.now() - start >= 15);
  });
});
