// The back-off of retryApi; retryApi itself meets its failures from the real API server in
// test/integration/api-retry.test.ts (faults injected by test/integration/api-fault-proxy.ts).
import assert from "node:assert/strict";
import { systemClock } from "../../../src/common/clock.js";
import { backoffDelay, retryApi } from "../../../src/kube/api-retry.js";
import { recordingLog } from "../../support/recording-log.js";

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const p = { initialDelayMs: 500, maxDelayMs: 3000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(p, n)),
      [500, 1000, 2000, 3000, 3000],
    );
  });
});

describe("retryApi (the call is a closure; the real API server's failures are in integration)", () => {
  const FAST = { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 };

  it("retries a failing call, then returns its value; each failure counted and logged", async () => {
    let calls = 0;
    const counted: string[] = [];
    const log = recordingLog();
    const got = await retryApi(
      "get rollout demo/web",
      () => (++calls <= 2 ? Promise.reject(new Error("ECONNRESET")) : Promise.resolve("web")),
      { clock: systemClock, log, failures: { inc: (l) => counted.push(l.outcome) } },
      FAST,
    );
    assert.deepEqual(got, { ok: true, value: "web" });
    assert.deepEqual(counted, ["retried", "retried"]);
    assert.deepEqual(
      log.lines.map((l) => [l.level, l.fields.retryInMs]),
      [
        ["warn", 1],
        ["warn", 2],
      ],
    );
  });

  it("resolves, never rejects, when the attempts run out", async () => {
    const counted: string[] = [];
    const got = await retryApi(
      "list rollouts",
      () => Promise.reject(new Error("HTTP 500")),
      {
        clock: systemClock,
        log: recordingLog(),
        failures: { inc: (l) => counted.push(l.outcome) },
      },
      FAST,
    );
    assert.equal(got.ok, false);
    assert.deepEqual(counted, ["retried", "retried", "gave_up"]);
  });
});
