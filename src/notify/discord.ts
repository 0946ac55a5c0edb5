// Discord: as Flagger does, the Slack-shaped payload sent to the webhook's Slack-compatible
// endpoint (`<webhook>/slack`), which Discord turns into an embed. Discord reads colours only as
// hex, so Slack's own hex values stand in for good, warning and danger; its text is Markdown, so
// nothing is escaped.
import type { Severity } from "../domain/plan-model.js";
import type { Message } from "./message.js";
import { rolloutTitle } from "./message.js";
import type { Endpoint, NotificationService, OutboundRequest } from "./service.js";
import { DEFAULT_USERNAME, JSON_HEADERS } from "./service.js";

export const DISCORD_COLORS: Readonly<Record<Severity, string>> = {
  info: "#2eb886",
  warn: "#daa038",
  error: "#a30200",
};

/** The webhook URL with `/slack` appended to its path (once), its query kept. */
export function slackCompatibleUrl(webhook: string): string {
  const url = new URL(webhook);
  if (!url.pathname.endsWith("/slack")) url.pathname = `${url.pathname.replace(/\/$/, "")}/slack`;
  return url.toString();
}

export const discord: NotificationService = {
  type: "discord",
  request(m: Message, e: Endpoint): OutboundRequest {
    const payload = {
      username: e.username ?? DEFAULT_USERNAME,
      attachments: [
        {
          color: DISCORD_COLORS[m.severity],
          author_name: rolloutTitle(m),
          text: m.text,
          ...(m.fields.length === 0
            ? {}
            : { fields: m.fields.map((f) => ({ title: f.name, value: f.value, short: false })) }),
        },
      ],
    };
    return { url: slackCompatibleUrl(e.url), headers: JSON_HEADERS, body: JSON.stringify(payload) };
  },
};
