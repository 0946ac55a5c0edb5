import assert from "node:assert/strict";
import type { RolloutKey } from "../../../src/notify/sent-log.js";
import { appendNotified, rolloutUid, StatusSentLog } from "../../../src/notify/sent-log.js";

const ids = (n: number, prefix = "u/e") => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);

describe("appendNotified", () => {
  it("appends each new id once and keeps the newest 20", () => {
    assert.deepEqual(appendNotified(undefined, ["a", "b", "a"]), ["a", "b"]);
    assert.deepEqual(appendNotified(["a"], ["a", "b"]), ["a", "b"]);
    assert.deepEqual(appendNotified(ids(19), ["x", "y"]), [...ids(19).slice(1), "x", "y"]);
  });
});

describe("rolloutUid", () => {
  it("is the id up to its first slash", () => {
    assert.equal(rolloutUid("0f0e-1/promoted/abc/2026-01-01T00:00:00Z@demo/slack"), "0f0e-1");
  });
});

describe("StatusSentLog", () => {
  const a: RolloutKey = { uid: "uid-a", namespace: "demo", name: "a" };
  const b: RolloutKey = { uid: "uid-b", namespace: "demo", name: "b" };

  it("knows the ids of the status it observed, per Rollout", async () => {
    const log = new StatusSentLog();
    log.observed(a, ["uid-a/promoted/r1/t@demo/p"]);
    assert.equal(await log.has("uid-a/promoted/r1/t@demo/p"), true);
    assert.equal(await log.has("uid-a/promoted/r2/t@demo/p"), false);
    assert.equal(await log.has("uid-b/promoted/r1/t@demo/p"), false);
  });

  it("asks for a reconcile on each new record, and gives the records for the status", async () => {
    const requeued: RolloutKey[] = [];
    const log = new StatusSentLog((k) => requeued.push(k));
    log.observed(a, ["uid-a/x"]);
    log.observed(b, undefined);
    await log.record("uid-a/y");
    await log.record("uid-a/y");
    await log.record("uid-b/z");
    assert.deepEqual(requeued, [a, b]);
    assert.equal(await log.has("uid-a/y"), true);
    assert.deepEqual(log.settled("uid-a"), ["uid-a/y"]);
    assert.deepEqual(log.settled("uid-b"), ["uid-b/z"]);
    assert.deepEqual(log.settled("uid-c"), []);
  });

  it("stops carrying an id once the status holds it, and forgets a deleted Rollout", async () => {
    const log = new StatusSentLog();
    log.observed(a, []);
    await log.record("uid-a/y");
    log.observed(a, ["uid-a/y"]);
    assert.deepEqual(log.settled("uid-a"), []);
    assert.equal(await log.has("uid-a/y"), true);
    log.forget("uid-a");
    assert.equal(await log.has("uid-a/y"), false);
  });

  it("lets each message be handed over once: not again, nor once settled or persisted", async () => {
    const log = new StatusSentLog();
    log.observed(a, ["uid-a/old"]);
    assert.equal(log.claim("uid-a/new"), true);
    assert.equal(log.claim("uid-a/new"), false);
    assert.equal(log.claim("uid-a/old"), false);
    await log.record("uid-a/new");
    assert.equal(log.claim("uid-a/new"), false);
    // A new process (a restart, the next leader) knows only the status.
    const next = new StatusSentLog();
    next.observed(a, ["uid-a/old"]);
    assert.equal(next.claim("uid-a/new"), true);
  });
});
