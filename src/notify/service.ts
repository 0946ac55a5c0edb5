// The one interface every service implements: turn a message into the HTTP request its API
// documents. Pure, so payloads are tested exactly; the dispatcher sends, retries and records.
import type { Message } from "./message.js";
import type { ProviderType } from "./provider.js";

/** An AlertProvider with its Secrets read: everything a service needs to address a message. */
export interface Endpoint {
  readonly type: ProviderType;
  readonly url: string;
  readonly channel?: string;
  readonly username?: string;
  /** Signs the generic webhook's body. */
  readonly hmacKey?: Uint8Array;
}

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as is: the bytes a signature covers. */
  readonly body: string;
}

export interface NotificationService {
  readonly type: ProviderType;
  request(message: Message, endpoint: Endpoint): OutboundRequest;
}

export const JSON_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
};

/** The name messages appear under where the service shows one and the provider sets none. */
export const DEFAULT_USERNAME = "vireo";
