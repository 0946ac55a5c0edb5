// Slack incoming webhooks: Flagger's legacy-attachment payload (author `<name>.<namespace>`, the
// message as mrkdwn text, facts as long fields), coloured by severity. Slack answers 200 `ok`.
import type { Severity } from "../domain/plan-model.js";
import type { Message } from "./message.js";
import { escapeMarkup, rolloutTitle } from "./message.js";
import type { Endpoint, NotificationService, OutboundRequest } from "./service.js";
import { DEFAULT_USERNAME, JSON_HEADERS } from "./service.js";

/** Slack's named attachment colours. */
export const SLACK_COLORS: Readonly<Record<Severity, string>> = {
  info: "good",
  warn: "warning",
  error: "danger",
};

export const slack: NotificationService = {
  type: "slack",
  request(m: Message, e: Endpoint): OutboundRequest {
    const text = escapeMarkup(m.text);
    const payload = {
      ...(e.channel === undefined ? {} : { channel: e.channel }),
      username: e.username ?? DEFAULT_USERNAME,
      icon_emoji: ":rocket:",
      attachments: [
        {
          fallback: text,
          color: SLACK_COLORS[m.severity],
          author_name: rolloutTitle(m),
          text,
          mrkdwn_in: ["text"],
          ...(m.fields.length === 0
            ? {}
            : {
                fields: m.fields.map((f) => ({
                  title: f.name,
                  value: escapeMarkup(f.value),
                  short: false,
                })),
              }),
        },
      ],
    };
    return { url: e.url, headers: JSON_HEADERS, body: JSON.stringify(payload) };
  },
};
