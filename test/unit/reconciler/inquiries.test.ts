// Checks and gate webhooks off the reconcile path (issue 15): Inquiries itself, then the real
// reconcile() with a gate webhook that does not answer: the reconcile returns, the webhook is
// asked once, and its answer, when it comes, requeues the Rollout and opens the gate.
import assert from "node:assert/strict";
import type { WebhookOutcome, WebhookRunner } from "../../../src/analysis/webhooks.js";
import { statusToWire } from "../../../src/api/parse-status.js";
import { FakeClock } from "../../../src/common/clock.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import { Inquiries } from "../../../src/reconciler/inquiries.js";
import { reconcile } from "../../../src/reconciler/reconcile.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { atRest, env, log, MemoryWorkload, rolloutWire } from "./memory-ports.js";

/** A promise the test settles by hand. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("Inquiries", () => {
  function inquiries(concurrency = 2): { q: Inquiries; answered: string[]; clock: FakeClock } {
    const answered: string[] = [];
    const clock = new FakeClock();
    return {
      q: new Inquiries({ clock, concurrency, answered: (r) => answered.push(r) }),
      answered,
      clock,
    };
  }

  it("starts a question once, answers it once, and requeues its Rollout when it arrives", async () => {
    const { q, answered } = inquiries();
    const d = deferred<number>();
    let asked = 0;
    const ask = (): Promise<number> => {
      asked++;
      return d.promise;
    };
    assert.deepEqual(q.take("ns/a", "x", ask), { kind: "pending" });
    assert.deepEqual(q.take("ns/a", "x", ask), { kind: "pending" });
    assert.equal(asked, 1);
    d.resolve(7);
    await settle();
    assert.deepEqual(answered, ["ns/a"]);
    assert.deepEqual(q.take("ns/a", "x", ask), { kind: "answered", value: 7 });
    assert.equal(q.outstanding, 0);
    // Taken: the next take asks again.
    assert.deepEqual(q.take("ns/a", "x", ask), { kind: "pending" });
    assert.equal(asked, 2);
  });

  it("runs at most `concurrency` at once; the rest wait their turn, in order", async () => {
    const { q } = inquiries(2);
    const ds = [deferred<string>(), deferred<string>(), deferred<string>()];
    const started: number[] = [];
    ds.forEach((d, i) => {
      q.take(`ns/r${String(i)}`, "x", () => {
        started.push(i);
        return d.promise;
      });
    });
    assert.deepEqual(started, [0, 1]);
    ds[1]?.resolve("b");
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
  });

  it("a question whose ask fails throws its error once, to the reconcile that takes it", async () => {
    const { q, answered } = inquiries();
    q.take("ns/a", "x", () => Promise.reject(new Error("Prometheus: connect ECONNREFUSED")));
    await settle();
    assert.deepEqual(answered, ["ns/a"]);
    assert.throws(() => q.take("ns/a", "x", () => Promise.resolve(1)), /ECONNREFUSED/);
    assert.equal(q.outstanding, 0);
  });

  it("forgets a deleted Rollout's questions: a late answer requeues nothing", async () => {
    const { q, answered } = inquiries(1);
    const d = deferred<number>();
    q.take("ns/a", "x", () => d.promise);
    let queuedRan = false;
    q.take("ns/b", "y", () => {
      queuedRan = true;
      return Promise.resolve(1);
    });
    q.forget("ns/a");
    q.forget("ns/b");
    d.resolve(1);
    await settle();
    assert.deepEqual(answered, []);
    assert.equal(queuedRan, false, "a forgotten question still waiting is never asked");
    assert.equal(q.outstanding, 0);
  });

  it("drops an answer no reconcile took within ten minutes", async () => {
    const { q, clock } = inquiries();
    q.take("ns/a", "x", () => Promise.resolve(1));
    await settle();
    assert.equal(q.outstanding, 1);
    await clock.advance(10 * 60_000 + 1);
    q.take("ns/other", "y", () => new Promise<number>(() => undefined));
    assert.equal(q.outstanding, 1, "only the new question is left");
  });
});

describe("reconcile: a gate webhook that does not answer holds no reconcile", () => {
  let server: XdsServer;
  beforeEach(() => {
    server = new XdsServer({ log, clock: new FakeClock() });
  });
  afterEach(async () => {
    await server.close();
  });

  const spec = {
    targetRef: { kind: "Deployment", name: "app" },
    service: { port: 80 },
    strategy: { canary: { steps: [{ setWeight: 10 }] } },
    analysis: {
      webhooks: [{ name: "gate", type: "pre-rollout", url: "http://gate.ns/" }],
    },
  };
  const rest = atRest(1);

  it("returns at once, asks once, and opens the gate when the answer comes", async () => {
    const answer = deferred<WebhookOutcome>();
    let calls = 0;
    const webhooks: WebhookRunner = {
      call: () => {
        calls++;
        return answer.promise;
      },
    };
    const e = env(server, new MemoryWorkload("r2"), webhooks);
    let status: RolloutStatus = rest;
    const step = async (): Promise<number | undefined> => {
      const r = await reconcile(rolloutWire(1, spec, statusToWire(status)), e.deps);
      status = e.written.at(-1) ?? status;
      e.publish();
      return r.requeueAfterMs;
    };
    // The release starts, weight 0 is confirmed, then the gate is asked: the reconcile returns.
    for (let i = 0; i < 3; i++) await step();
    assert.equal(status.message, "Canary ready; running pre-rollout webhooks");
    assert.equal(calls, 1);
    // Reconciled again while the webhook still says nothing: not asked twice, no quick spin.
    const requeue = await step();
    assert.equal(calls, 1);
    assert.ok((requeue ?? 0) >= 5_000, `requeued after ${String(requeue)} ms`);
    assert.deepEqual(e.answered, []);

    answer.resolve({ ok: true, errored: false, details: [] });
    await settle();
    assert.deepEqual(e.answered, ["ns/app"], "the answer requeues the Rollout");
    await step();
    assert.equal(status.message, "Step 1/1 (weight 10 %) for revision r2");
    assert.equal(calls, 1);
  });
});
