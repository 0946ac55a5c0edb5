// What every stream handler shares with the server: the current snapshot, the shared selections,
// and where to report ACKs, NACKs and connections.
import type { Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { Snapshot, TypeUrl } from "../snapshot.js";
import type { ClientConnection } from "./connection.js";
import type { Selection } from "./selection.js";
import type { Subscription } from "./subscription.js";

export type XdsEvent =
  | { readonly kind: "connect"; readonly client: ClientConnection }
  | { readonly kind: "disconnect"; readonly client: ClientConnection }
  | {
      readonly kind: "ack";
      readonly client: ClientConnection;
      readonly typeUrl: TypeUrl;
      readonly version: number;
    }
  | {
      readonly kind: "nack";
      readonly client: ClientConnection;
      readonly typeUrl: TypeUrl;
      readonly version: number;
      readonly message: string;
    };

export interface StreamContext {
  readonly log: Logger;
  readonly clock: Clock;
  current(): Snapshot | undefined;
  /** The resources `sub` selects from `snapshot`, shared between clients. */
  select(snapshot: Snapshot, typeUrl: TypeUrl, sub: Subscription): Selection;
  emit(event: XdsEvent): void;
}

/** Error details can be large (many invalid resources); keep logs and status readable. */
export function shortMessage(message: string, max = 1024): string {
  return message.length <= max ? message : `${message.slice(0, max)}… (${message.length} chars)`;
}
