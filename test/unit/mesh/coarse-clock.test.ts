// Request timeouts on one coarse timer: never early, at most one tick late, cancellable, and
// one timer of the clock underneath however many are pending.
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/common/clock.js";
import { CoarseClock } from "../../../mesh/filters/coarse-clock.js";

describe("mesh coarse clock (request timeouts)", () => {
  it("fires each timer at or after its deadline, within one tick, in deadline order", async () => {
    const inner = new FakeClock(1_000_003);
    const clock = new CoarseClock(inner, 10);
    const start = inner.now();
    const fired: [string, number][] = [];
    for (const [name, ms] of [
      ["b", 45],
      ["a", 20],
      ["c", 45],
      ["d", 300],
    ] as const) {
      clock.setTimer(ms, () => fired.push([name, inner.now() - start]));
    }
    assert.equal(inner.pending, 1, "one timer underneath");
    await inner.advance(400);
    assert.deepEqual(
      fired.map(([n]) => n),
      ["a", "b", "c", "d"],
    );
    const deadlines: Record<string, number> = { a: 20, b: 45, c: 45, d: 300 };
    for (const [name, at] of fired) {
      const due = deadlines[name] ?? 0;
      assert.ok(at >= due && at < due + 10, `${name} fired at ${at} ms for ${due} ms`);
    }
    assert.equal(inner.pending, 0);
  });

  it("does not fire cancelled timers, and stops waking when none is left", async () => {
    const inner = new FakeClock();
    const clock = new CoarseClock(inner, 10);
    const fired: string[] = [];
    const a = clock.setTimer(50, () => fired.push("a"));
    clock.setTimer(80, () => fired.push("b")).cancel();
    a.cancel();
    assert.equal(inner.pending, 0);
    clock.setTimer(30, () => fired.push("c"));
    await inner.advance(200);
    assert.deepEqual(fired, ["c"]);
  });

  it("wakes earlier for a timer set earlier than the one it waits for", async () => {
    const inner = new FakeClock();
    const clock = new CoarseClock(inner, 10);
    const fired: string[] = [];
    clock.setTimer(1_000, () => fired.push("late"));
    clock.setTimer(10, () => fired.push("early"));
    await inner.advance(20);
    assert.deepEqual(fired, ["early"]);
    await inner.advance(1_000);
    assert.deepEqual(fired, ["early", "late"]);
  });

  it("lets a firing timer set another", async () => {
    const inner = new FakeClock();
    const clock = new CoarseClock(inner, 10);
    const fired: number[] = [];
    clock.setTimer(10, () => {
      fired.push(1);
      clock.setTimer(10, () => fired.push(2));
    });
    await inner.advance(100);
    assert.deepEqual(fired, [1, 2]);
  });
});
