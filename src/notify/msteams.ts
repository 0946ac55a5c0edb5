// Microsoft Teams incoming webhooks: Flagger's MessageCard (the message as the activity title,
// facts below it), with a theme colour per severity.
import type { Severity } from "../domain/plan-model.js";
import type { Message } from "./message.js";
import { rolloutTitle } from "./message.js";
import type { Endpoint, NotificationService, OutboundRequest } from "./service.js";
import { JSON_HEADERS } from "./service.js";

export const TEAMS_COLORS: Readonly<Record<Severity, string>> = {
  info: "0076D7",
  warn: "FFA500",
  error: "FF0000",
};

export const msteams: NotificationService = {
  type: "msteams",
  request(m: Message, e: Endpoint): OutboundRequest {
    const title = rolloutTitle(m);
    const payload = {
      "@type": "MessageCard",
      "@context": "http://schema.org/extensions",
      themeColor: TEAMS_COLORS[m.severity],
      summary: title,
      sections: [
        {
          activityTitle: m.text,
          activitySubtitle: title,
          ...(m.fields.length === 0
            ? {}
            : { facts: m.fields.map((f) => ({ name: f.name, value: f.value })) }),
        },
      ],
    };
    return { url: e.url, headers: JSON_HEADERS, body: JSON.stringify(payload) };
  },
};
