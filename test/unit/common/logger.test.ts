import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { FakeClock } from "../../../src/common/clock.js";
import { VireoError } from "../../../src/common/errors.js";
import { createLogger, objectFields, parseLogLevel } from "../../../src/common/logger.js";

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("createLogger", () => {
  it("writes one JSON object per line with time, level, message and component", async () => {
    const out = capture();
    const clock = new FakeClock(Date.UTC(2026, 10, 22, 4, 0, 0));
    const log = createLogger({ component: "controller", stream: out.stream, clock });
    log.info("started", { port: 8080 });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(out.lines(), [
      {
        level: "info",
        message: "started",
        component: "controller",
        port: 8080,
        time: "2026-11-22T04:00:00.000Z",
      },
    ]);
  });

  it("adds child fields for the object a line concerns", async () => {
    const out = capture();
    const log = createLogger({ component: "reconciler", stream: out.stream });
    const child = log.child(objectFields({ kind: "Rollout", namespace: "demo", name: "podinfo" }));
    child.warn("step waiting", { weight: 10 });
    await new Promise((r) => setImmediate(r));
    const line = out.lines()[0] ?? {};
    assert.equal(line.component, "reconciler");
    assert.equal(line.kind, "Rollout");
    assert.equal(line.namespace, "demo");
    assert.equal(line.name, "podinfo");
    assert.equal(line.weight, 10);
    assert.equal(line.level, "warn");
  });

  it("lets a child's component name its lines (winston kept the parent's)", async () => {
    const out = capture();
    const log = createLogger({ component: "proxy", stream: out.stream });
    log.child({ component: "xds-client" }).info("ADS stream ended");
    log.info("ready");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      out.lines().map((l) => l.component),
      ["xds-client", "proxy"],
    );
  });

  it("writes keys sorted, bigints as strings and a cycle as [Circular], as winston did", () => {
    const stream = new PassThrough();
    const log = createLogger({ component: "x", stream, clock: new FakeClock(0) });
    const loop: Record<string, unknown> = { b: 1n };
    loop.a = loop;
    log.info("m", { z: { y: 1, x: [2, { w: 3, v: 4 }] }, loop, gone: undefined });
    const shared = { k: 1, at: new URL("http://web.demo/x"), on: new Date(0) };
    log.info("n", { p: shared, q: shared });
    const text = stream.read() as Buffer;
    assert.equal(
      text.toString("utf8"),
      '{"component":"x","level":"info","loop":{"a":"[Circular]","b":"1"},"message":"m",' +
        '"time":"1970-01-01T00:00:00.000Z","z":{"x":[2,{"v":4,"w":3}],"y":1}}\n' +
        '{"component":"x","level":"info","message":"n",' +
        '"p":{"at":"http://web.demo/x","k":1,"on":"1970-01-01T00:00:00.000Z"},' +
        '"q":{"at":"http://web.demo/x","k":1,"on":"1970-01-01T00:00:00.000Z"},' +
        '"time":"1970-01-01T00:00:00.000Z"}\n',
    );
  });

  it("filters below the configured level", async () => {
    const out = capture();
    const log = createLogger({ component: "x", stream: out.stream, level: "warn" });
    log.debug("hidden");
    log.info("hidden too");
    log.error("shown");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      out.lines().map((l) => l.message),
      ["shown"],
    );
  });

  it("logs errors by code and message chain instead of {}", async () => {
    const out = capture();
    const log = createLogger({ component: "x", stream: out.stream });
    const err = new VireoError("Query", "query failed", { cause: new Error("timeout") });
    log.error("analysis error", { err, plain: new Error("plain") });
    await new Promise((r) => setImmediate(r));
    const line = out.lines()[0] ?? {};
    assert.deepEqual(line.err, { code: "Query", message: "query failed: timeout" });
    assert.deepEqual(line.plain, { message: "plain" });
  });
});

describe("parseLogLevel", () => {
  it("accepts known levels in any case and rejects others by name", () => {
    assert.equal(parseLogLevel("DEBUG"), "debug");
    assert.equal(parseLogLevel(undefined), "info");
    assert.equal(parseLogLevel("", "warn"), "warn");
    assert.throws(() => parseLogLevel("verbose"), /unknown log level "verbose"/);
  });
});
