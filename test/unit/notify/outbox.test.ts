// The outbox's pure logic: the entry a transition writes, how a reconcile adds and settles
// entries (exact statuses), its bound, what is still to send, and its wire form both ways.
import assert from "node:assert/strict";
import { outboxToWire, readOutbox } from "../../../src/api/status-outbox.js";
import type { OutboxEntry, RolloutStatus } from "../../../src/domain/rollout.js";
import { OUTBOX_LIMIT } from "../../../src/domain/rollout.js";
import { deliveryId } from "../../../src/notify/message.js";
import {
  OUTBOX_MESSAGE_LIMIT,
  outboxEntry,
  pendingDeliveries,
  stageOutbox,
} from "../../../src/notify/outbox.js";
import { transitionOf, UID } from "../../support/notify-fixtures.js";

const SLACK = { namespace: "demo", name: "slack" };
const HOOK = { namespace: "ops", name: "hook" };

const BASE: RolloutStatus = {
  phase: "Succeeded",
  observedGeneration: 1,
  canaryWeight: 0,
  verifiedWeight: 0,
  currentStep: 0,
  failedChecks: 0,
  iterations: 0,
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00Z",
  conditions: [],
};

/** An entry for transition number `n`, to `pending`. */
function entry(n: number, pending = [SLACK, HOOK]): OutboxEntry {
  return {
    id: `${UID}/promoted/r${n}/2026-01-01T00:00:0${n % 10}Z`,
    event: "promoted",
    severity: "info",
    message: `promoted r${n}`,
    revision: `r${n}`,
    phase: "Succeeded",
    weight: 0,
    pending,
  };
}

describe("outbox", () => {
  describe("outboxEntry", () => {
    it("carries the transition's id, facts, checks and recipients", () => {
      const t = transitionOf("rolledBack");
      const e = outboxEntry(
        { event: t.event, severity: t.severity, message: t.text },
        {
          uid: UID,
          since: t.since,
          revision: t.revision,
          phase: t.phase,
          weight: t.weight,
          checks: [{ name: "request-success-rate", outcome: "fail", message: "97.5 % < 99 %" }],
        },
        [SLACK, HOOK],
      );
      assert.deepEqual(e, {
        id: `${UID}/rolledBack/7d9f8c6b5/2025-12-31T23:40:00Z`,
        event: "rolledBack",
        severity: "error",
        message: t.text,
        revision: "7d9f8c6b5",
        phase: "Failed",
        weight: 0,
        checks: [{ name: "request-success-rate", outcome: "fail", message: "97.5 % < 99 %" }],
        pending: [SLACK, HOOK],
      });
    });

    it("cuts a long message, so that the status stays small", () => {
      const long = "x".repeat(OUTBOX_MESSAGE_LIMIT + 50);
      const facts = { uid: UID, since: "s", revision: "r", phase: "Failed" as const, weight: 0 };
      const e = outboxEntry({ event: "rolledBack", severity: "error", message: long }, facts, []);
      assert.equal(e.message.length, OUTBOX_MESSAGE_LIMIT);
      assert.equal(e.message.endsWith("…"), true);
    });
  });

  describe("stageOutbox", () => {
    it("leaves a status with nothing to add or settle as it was", () => {
      const s = { ...BASE, outbox: [entry(1)] };
      assert.equal(stageOutbox(s, [], []).status, s);
    });

    it("adds a transition's entry to the status that records the transition", () => {
      const got = stageOutbox(BASE, [entry(1)], []);
      assert.deepEqual(got, { status: { ...BASE, outbox: [entry(1)] }, dropped: [] });
    });

    it("adds a transition planned again once (its id is the same)", () => {
      const s = { ...BASE, outbox: [entry(1, [SLACK])] };
      assert.deepEqual(stageOutbox(s, [entry(1)], []).status, s);
    });

    it("leaves out the providers that already have the message", () => {
      const s = {
        ...BASE,
        notified: [deliveryId(entry(1).id, SLACK), deliveryId(entry(2).id, SLACK)],
      };
      const got = stageOutbox(s, [entry(1), entry(2, [SLACK])], []).status;
      assert.deepEqual(got, { ...s, outbox: [entry(1, [HOOK])] });
    });

    it("moves what was settled from the outbox to notified, and drops an entry sent to all", () => {
      const s = { ...BASE, notified: ["older"], outbox: [entry(1), entry(2)] };
      const settled = [deliveryId(entry(1).id, SLACK), deliveryId(entry(1).id, HOOK)];
      settled.push(deliveryId(entry(2).id, HOOK));
      const got = stageOutbox(s, [], settled);
      assert.deepEqual(got.status, {
        ...BASE,
        notified: ["older", ...settled],
        outbox: [entry(2, [SLACK])],
      });
      const rest = stageOutbox(got.status, [], [deliveryId(entry(2).id, SLACK)]).status;
      assert.equal("outbox" in rest, false, "an empty outbox is not written");
      assert.deepEqual(rest.notified, ["older", ...settled, deliveryId(entry(2).id, SLACK)]);
    });

    it("records settled ids even when their entry is gone (a transition never written)", () => {
      const got = stageOutbox(BASE, [], ["x@demo/slack"]).status;
      assert.deepEqual(got, { ...BASE, notified: ["x@demo/slack"] });
    });

    it(`keeps the newest ${OUTBOX_LIMIT} entries and returns the ones it drops`, () => {
      const old = Array.from({ length: OUTBOX_LIMIT }, (_, i) => entry(i));
      const got = stageOutbox({ ...BASE, outbox: old }, [entry(10), entry(11)], []);
      assert.deepEqual(got.status.outbox, [...old.slice(2), entry(10), entry(11)]);
      assert.deepEqual(got.dropped, [entry(0), entry(1)]);
    });
  });

  describe("pendingDeliveries", () => {
    it("lists each message to each provider still pending, oldest first, by delivery id", () => {
      const s = { ...BASE, outbox: [entry(1), entry(2, [HOOK])] };
      assert.deepEqual(
        pendingDeliveries(s).map((d) => d.id),
        [
          deliveryId(entry(1).id, SLACK),
          deliveryId(entry(1).id, HOOK),
          deliveryId(entry(2).id, HOOK),
        ],
      );
      assert.deepEqual(pendingDeliveries(BASE), []);
      assert.deepEqual(pendingDeliveries(undefined), []);
    });
  });

  describe("status.outbox on the wire", () => {
    it("reads back what it writes", () => {
      const entries = [
        entry(1),
        {
          ...entry(2, [HOOK]),
          checks: [{ name: "smoke", outcome: "error" as const, message: "timeout" }],
        },
      ];
      assert.deepEqual(readOutbox(JSON.parse(JSON.stringify(outboxToWire(entries)))), entries);
    });

    it("drops malformed entries and providers rather than refusing the status", () => {
      const wire: unknown = [
        { ...outboxToWire([entry(1)])[0], event: "exploded" },
        { ...outboxToWire([entry(2)])[0], pending: [{ namespace: "demo" }, SLACK] },
        { ...outboxToWire([entry(3)])[0], pending: [] },
        "junk",
      ];
      assert.deepEqual(readOutbox(wire), [entry(2, [SLACK])]);
      assert.equal(readOutbox([]), undefined);
      assert.equal(readOutbox(undefined), undefined);
    });
  });
});
