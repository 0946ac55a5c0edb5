// The exact body each service receives for each event, posted by the real dispatcher to a local
// receiver: Slack's attachments, Discord's Slack-compatible endpoint, Teams' MessageCard, Google
// Chat's card and vireo's own webhook schema (docs/notifications.md).
import assert from "node:assert/strict";
import type { NotifyEvent, Severity } from "../../../src/domain/plan-model.js";
import type { Harness, Transition } from "../../support/notify-fixtures.js";
import {
  dispatcherHarness,
  FakeApi,
  kubeNotifier,
  NOW,
  notification,
  rolloutSpec,
  TRANSITIONS,
  UID,
} from "../../support/notify-fixtures.js";
import { Receiver } from "../../support/http-receiver.js";

type Fields = readonly (readonly [string, string])[];

interface Expected {
  readonly fields: Fields;
  /** The text and fields as Slack's mrkdwn and Google Chat's HTML need them. */
  readonly escapedText: string;
  readonly escapedFields: Fields;
}

const header: Fields = [
  ["Cluster", "prod-eu"],
  ["Target", "Deployment/podinfo.demo"],
];
const release: Fields = [
  ...header,
  ["Failed checks threshold", "3"],
  ["Progress deadline", "600s"],
  ["Traffic routing", "Weight steps: 10,30,60"],
];

function plain(t: Transition, fields: Fields): Expected {
  return { fields, escapedText: t.text, escapedFields: fields };
}

const EXPECTED: Readonly<Record<NotifyEvent, (t: Transition) => Expected>> = {
  initialized: (t) => plain(t, release),
  started: (t) => plain(t, release),
  waitingApproval: (t) => plain(t, header),
  promoted: (t) => plain(t, header),
  rolledBack: () => ({
    fields: [
      ...header,
      ["request-success-rate", "request-success-rate 97.5 % < 99 %"],
      ["smoke", "smoke: timeout after 10000 ms"],
    ],
    escapedText:
      "Rolled back podinfo revision 7d9f8c6b5: 3 failed checks, request-success-rate 97.5 % &lt; 99 %",
    escapedFields: [
      ...header,
      ["request-success-rate", "request-success-rate 97.5 % &lt; 99 %"],
      ["smoke", "smoke: timeout after 10000 ms"],
    ],
  }),
  progressDeadlineExceeded: (t) => plain(t, header),
};

interface ServiceCase {
  readonly type: string;
  /** The provider's spec, given the receiver's URL for `path`. */
  readonly spec: (url: string) => Record<string, unknown>;
  readonly path: string;
  /** Where the request must arrive. */
  readonly receivedAt: string;
  readonly body: (t: Transition, x: Expected) => unknown;
}

const SLACK_COLOR: Readonly<Record<Severity, string>> = {
  info: "good",
  warn: "warning",
  error: "danger",
};
const DISCORD_COLOR: Readonly<Record<Severity, string>> = {
  info: "#2eb886",
  warn: "#daa038",
  error: "#a30200",
};
const TEAMS_COLOR: Readonly<Record<Severity, string>> = {
  info: "0076D7",
  warn: "FFA500",
  error: "FF0000",
};
const GCHAT_COLOR: Readonly<Record<Severity, string>> = {
  info: "#848484",
  warn: "#e37400",
  error: "#d93025",
};

const SERVICES: readonly ServiceCase[] = [
  {
    type: "slack",
    spec: () => ({
      type: "slack",
      secretRef: { name: "slack-webhook" },
      channel: "#releases",
      username: "release-bot",
    }),
    path: "/services/T000/B000/XXXX",
    receivedAt: "/services/T000/B000/XXXX",
    body: (t, x) => ({
      channel: "#releases",
      username: "release-bot",
      icon_emoji: ":rocket:",
      attachments: [
        {
          fallback: x.escapedText,
          color: SLACK_COLOR[t.severity],
          author_name: "podinfo.demo",
          text: x.escapedText,
          mrkdwn_in: ["text"],
          fields: x.escapedFields.map(([title, value]) => ({ title, value, short: false })),
        },
      ],
    }),
  },
  {
    type: "discord",
    spec: (url) => ({ type: "discord", address: url }),
    path: "/api/webhooks/1234/token",
    receivedAt: "/api/webhooks/1234/token/slack",
    body: (t, x) => ({
      username: "vireo",
      attachments: [
        {
          color: DISCORD_COLOR[t.severity],
          author_name: "podinfo.demo",
          text: t.text,
          fields: x.fields.map(([title, value]) => ({ title, value, short: false })),
        },
      ],
    }),
  },
  {
    type: "msteams",
    spec: (url) => ({ type: "msteams", address: url }),
    path: "/webhookb2/abc/IncomingWebhook/def",
    receivedAt: "/webhookb2/abc/IncomingWebhook/def",
    body: (t, x) => ({
      "@type": "MessageCard",
      "@context": "http://schema.org/extensions",
      themeColor: TEAMS_COLOR[t.severity],
      summary: "podinfo.demo",
      sections: [
        {
          activityTitle: t.text,
          activitySubtitle: "podinfo.demo",
          facts: x.fields.map(([name, value]) => ({ name, value })),
        },
      ],
    }),
  },
  {
    type: "googlechat",
    spec: (url) => ({ type: "googlechat", address: url }),
    path: "/v1/spaces/AAAA/messages?key=k&token=t",
    receivedAt: "/v1/spaces/AAAA/messages?key=k&token=t",
    body: (t, x) => ({
      cards: [
        {
          header: { title: "vireo", subtitle: "podinfo.demo" },
          sections: [
            {
              widgets: [
                {
                  textParagraph: {
                    text: `<font color=${GCHAT_COLOR[t.severity]}><strong>${x.escapedText}</strong></font>`,
                  },
                },
              ],
            },
            ...x.escapedFields.map(([name, value]) => ({
              widgets: [
                {
                  textParagraph: {
                    text: `${name}<br><font color=#848484><strong>${value}</strong></font>`,
                  },
                },
              ],
            })),
          ],
        },
      ],
    }),
  },
  {
    type: "webhook",
    spec: (url) => ({ type: "webhook", address: url }),
    path: "/events",
    receivedAt: "/events",
    body: (t) => ({
      version: "v1",
      id: `${UID}/${t.event}/${t.revision}/${t.since}`,
      rollout: { namespace: "demo", name: "podinfo" },
      event: t.event,
      severity: t.severity,
      message: t.text,
      revision: t.revision,
      phase: t.phase,
      weight: t.weight,
      ...(t.checks === undefined ? {} : { checks: t.checks }),
      timestamp: NOW,
    }),
  },
];

describe("notification payloads", () => {
  for (const s of SERVICES) {
    describe(s.type, () => {
      let receiver: Receiver;
      let h: Harness;
      let api: FakeApi;
      beforeEach(async () => {
        receiver = await Receiver.start();
        h = dispatcherHarness();
        api = new FakeApi()
          .provider("demo", s.type, s.spec(receiver.url(s.path)))
          .secret("demo", "slack-webhook", { address: receiver.url(s.path) });
      });
      afterEach(async () => {
        await h.dispatcher.close();
        await receiver.close();
      });

      for (const t of TRANSITIONS) {
        it(`${t.event} (${t.severity})`, async () => {
          const spec = rolloutSpec([
            { name: "team", severity: "info", providerRef: { name: s.type } },
          ]);
          const notifier = kubeNotifier(api, h, { clusterName: "prod-eu" });
          await notifier.notify(notification(t, spec));
          await notifier.idle();
          assert.deepEqual(h.failures, []);
          assert.equal(receiver.requests.length, 1);
          const [got] = receiver.requests;
          assert.equal(got?.path, s.receivedAt);
          assert.equal(got?.headers["content-type"], "application/json");
          assert.deepEqual(JSON.parse(got?.body ?? ""), s.body(t, EXPECTED[t.event](t)));
        });
      }
    });
  }
});
