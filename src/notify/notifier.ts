// The Notifier port: how the controller tells people about a release. Chat and webhook providers
// arrive with the notifications work; until then, LogNotifier writes each message to the log.
import type { Logger } from "../common/logger.js";

export interface Notification {
  readonly namespace: string;
  readonly name: string;
  readonly event: string;
  readonly severity: "info" | "warn" | "error";
  readonly message: string;
}

export interface Notifier {
  notify(n: Notification): Promise<void>;
}

export class LogNotifier implements Notifier {
  constructor(private readonly log: Logger) {}

  notify(n: Notification): Promise<void> {
    this.log.info("notification", { ...n });
    return Promise.resolve();
  }
}
