// The request-body idle timeout's sweep on a fake clock: a body is cut off one timeout (plus at
// most one sweep) after its last byte, never while the proxy holds it back, never once it ended.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { FakeClock } from "../../../src/common/clock.js";
import type { WatchedBody } from "../../../mesh/listeners/body-watch.js";
import { BodyWatch } from "../../../mesh/listeners/body-watch.js";

function body(): WatchedBody & {
  bytes: number;
  expiredAt: number | undefined;
  source: PassThrough;
} {
  const source = new PassThrough();
  source.on("data", () => undefined); // flowing: the proxy is reading
  const b = {
    source,
    bytes: 0,
    expiredAt: undefined as number | undefined,
    progress: () => b.bytes,
    expire: () => {
      b.expiredAt = clock.now() - start;
    },
  };
  return b;
}

let clock: FakeClock;
let start: number;

describe("BodyWatch", () => {
  beforeEach(() => {
    clock = new FakeClock();
    start = clock.now();
  });

  it("sweeps every eighth of the timeout, within 10 ms and 1 s", () => {
    assert.equal(new BodyWatch(clock, 300_000).sweepMs, 1_000);
    assert.equal(new BodyWatch(clock, 800).sweepMs, 100);
    assert.equal(new BodyWatch(clock, 40).sweepMs, 10);
  });

  it("cuts a silent body off between the timeout and one sweep later", async () => {
    const w = new BodyWatch(clock, 800);
    const b = body();
    w.add(b);
    await clock.advance(700);
    assert.equal(b.expiredAt, undefined);
    await clock.advance(200);
    assert.equal(b.expiredAt, 800);
    assert.equal(w.size, 0);
    assert.equal(clock.pending, 0, "no timer left once nothing is watched");
  });

  it("counts from the last byte moved", async () => {
    const w = new BodyWatch(clock, 800);
    const b = body();
    w.add(b);
    await clock.advance(750);
    b.bytes++;
    await clock.advance(800);
    assert.equal(b.expiredAt, undefined);
    await clock.advance(100);
    assert.equal(b.expiredAt, 1_600);
  });

  it("does not count time the proxy holds the body back, nor watch an ended one", async () => {
    const w = new BodyWatch(clock, 800);
    const held = body();
    held.source.pause();
    const ended = body();
    ended.source.end();
    await new Promise((resolve) => ended.source.once("end", resolve));
    w.add(held);
    w.add(ended);
    await clock.advance(5_000);
    assert.equal(held.expiredAt, undefined);
    assert.equal(ended.expiredAt, undefined);
    assert.equal(w.size, 1);
    held.source.resume();
    await clock.advance(1_000);
    assert.equal(held.expiredAt, 5_800);
  });

  it("is off with a timeout of 0", async () => {
    const w = new BodyWatch(clock, 0);
    w.add(body());
    assert.equal(w.size, 0);
    assert.equal(clock.pending, 0);
    await clock.advance(1_000);
  });
});
