// Google Chat incoming webhooks: Flagger's card (header `vireo` / `<name>.<namespace>`, the message
// as a paragraph coloured by severity, then one section per fact). Card text is an HTML subset, so
// the message and the facts are escaped.
import type { Severity } from "../domain/plan-model.js";
import type { Message } from "./message.js";
import { escapeMarkup, rolloutTitle } from "./message.js";
import type { Endpoint, NotificationService, OutboundRequest } from "./service.js";
import { JSON_HEADERS } from "./service.js";

export const GOOGLE_CHAT_COLORS: Readonly<Record<Severity, string>> = {
  info: "#848484",
  warn: "#e37400",
  error: "#d93025",
};

const paragraph = (text: string) => ({ widgets: [{ textParagraph: { text } }] });

export const googlechat: NotificationService = {
  type: "googlechat",
  request(m: Message, e: Endpoint): OutboundRequest {
    const color = GOOGLE_CHAT_COLORS[m.severity];
    const payload = {
      cards: [
        {
          header: { title: "vireo", subtitle: rolloutTitle(m) },
          sections: [
            paragraph(`<font color=${color}><strong>${escapeMarkup(m.text)}</strong></font>`),
            ...m.fields.map((f) =>
              paragraph(
                `${escapeMarkup(f.name)}<br><font color=#848484><strong>${escapeMarkup(f.value)}</strong></font>`,
              ),
            ),
          ],
        },
      ],
    };
    return { url: e.url, headers: JSON_HEADERS, body: JSON.stringify(payload) };
  },
};
