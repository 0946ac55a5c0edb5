import assert from "node:assert/strict";
import {
  buildMessage,
  deliveryId,
  escapeMarkup,
  receives,
  trafficRouting,
  transitionId,
} from "../../../src/notify/message.js";
import { slackCompatibleUrl } from "../../../src/notify/discord.js";
import {
  NOW,
  notification,
  rolloutSpec,
  transitionOf,
  UID,
} from "../../support/notify-fixtures.js";

describe("notification messages", () => {
  it("builds the message the services format, without a Cluster field unless configured", () => {
    const n = notification(transitionOf("started"), rolloutSpec());
    assert.deepEqual(buildMessage(n, n.context ?? assert.fail(), Date.parse(NOW)), {
      id: `${UID}/started/7d9f8c6b5/2025-12-31T23:10:00Z`,
      rollout: { namespace: "demo", name: "podinfo" },
      event: "started",
      severity: "info",
      text: "New revision 7d9f8c6b5 of podinfo: starting the release",
      revision: "7d9f8c6b5",
      phase: "Progressing",
      weight: 0,
      fields: [
        { name: "Target", value: "Deployment/podinfo.demo" },
        { name: "Failed checks threshold", value: "3" },
        { name: "Progress deadline", value: "600s" },
        { name: "Traffic routing", value: "Weight steps: 10,30,60" },
      ],
      timestamp: NOW,
    });
  });

  it("words the traffic routing of each strategy as Flagger does", () => {
    assert.equal(trafficRouting(rolloutSpec().strategy), "Weight steps: 10,30,60");
    assert.equal(trafficRouting({ kind: "abTesting", matches: [], iterations: 10 }), "A/B Testing");
    assert.equal(trafficRouting({ kind: "blueGreen", iterations: 5 }), "Blue/Green");
    assert.equal(
      trafficRouting({ kind: "mirroring", mirrorPercent: 50, iterations: 5 }),
      "Mirroring: 50%",
    );
  });

  it("ids one transition, and one delivery per provider", () => {
    const id = transitionId({
      uid: UID,
      event: "rolledBack",
      revision: "7d9f8c6b5",
      since: "2025-12-31T23:40:00Z",
    });
    assert.equal(id, `${UID}/rolledBack/7d9f8c6b5/2025-12-31T23:40:00Z`);
    assert.equal(deliveryId(id, { namespace: "demo", name: "slack" }), `${id}@demo/slack`);
  });

  it("filters by severity as Flagger does", () => {
    const table: [Parameters<typeof receives>[0], Parameters<typeof receives>[1], boolean][] = [
      ["info", "info", true],
      ["info", "warn", true],
      ["info", "error", true],
      ["warn", "info", false],
      ["warn", "warn", true],
      ["warn", "error", true],
      ["error", "info", false],
      ["error", "warn", false],
      ["error", "error", true],
    ];
    for (const [alert, severity, want] of table) {
      assert.equal(receives(alert, severity), want, `${alert} alert, ${severity} message`);
    }
  });

  it("escapes what Slack and Google Chat would read as markup", () => {
    assert.equal(escapeMarkup("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
  });

  it("posts Discord to the Slack-compatible endpoint once, keeping the query", () => {
    assert.equal(
      slackCompatibleUrl("https://discord.com/api/webhooks/1/tok?thread_id=9"),
      "https://discord.com/api/webhooks/1/tok/slack?thread_id=9",
    );
    assert.equal(
      slackCompatibleUrl("https://discord.com/api/webhooks/1/tok/slack"),
      "https://discord.com/api/webhooks/1/tok/slack",
    );
    assert.equal(
      slackCompatibleUrl("https://discord.com/api/webhooks/1/tok/"),
      "https://discord.com/api/webhooks/1/tok/slack",
    );
  });
});
