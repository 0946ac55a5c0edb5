// A Rollout whose spec the controller refuses, through the real reconcile(): one Warning Event
// that says why, Stalled, and, when deleted, its finalizer removed (issue 17: it was kept, so the
// Rollout could not be deleted).
import assert from "node:assert/strict";
import { reconcile } from "../../../src/reconciler/reconcile.js";
import { FINALIZER } from "../../../src/kube/rollout-store.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { FakeClock } from "../../../src/common/clock.js";
import { statusToWire } from "../../../src/api/parse.js";
import { env, log, MemoryWorkload, rolloutWire } from "./memory-ports.js";

/** Weights that do not increase: the schema accepts it, the controller's parser does not. */
const refused = {
  targetRef: { kind: "Deployment", name: "app" },
  service: { port: 80 },
  strategy: { canary: { steps: [{ setWeight: 50 }, { setWeight: 10 }] } },
};

describe("reconcile: an invalid spec", () => {
  let server: XdsServer;
  beforeEach(() => {
    server = new XdsServer({ log, clock: new FakeClock() });
  });
  afterEach(async () => {
    await server.close();
  });

  it("records one Warning Event saying why, and reports Stalled", async () => {
    const e = env(server, new MemoryWorkload("r1"));
    await reconcile(rolloutWire(3, refused, undefined), e.deps);
    assert.equal(e.events.length, 1);
    assert.match(e.events[0] ?? "", /^Warning \w+: Invalid spec: /);
    const s = e.written.at(-1);
    const stalled = s?.conditions.find((c) => c.type === "Stalled");
    assert.deepEqual([stalled?.status, stalled?.observedGeneration], ["True", 3]);

    // Reconciled again with what it wrote: nothing new to say.
    await reconcile(rolloutWire(3, refused, s === undefined ? undefined : statusToWire(s)), e.deps);
    assert.equal(e.events.length, 1);
  });

  it("loses its finalizer when deleted, so the deletion completes", async () => {
    const e = env(server, new MemoryWorkload("r1"));
    const deleted = rolloutWire(3, refused, undefined, {
      deletionTimestamp: new Date(),
      finalizers: [FINALIZER],
    });
    const r = await reconcile(deleted, e.deps);
    assert.deepEqual(e.finalizer, ["absent"]);
    assert.equal(r.requeueAfterMs, undefined);
    assert.deepEqual(e.written, [], "a Rollout on its way out gets no status write");
  });
});
