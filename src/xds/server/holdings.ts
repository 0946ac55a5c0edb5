// What one client holds of one resource type, as far as its replies tell: the content it ACKed
// (references to the snapshots' shared encoded resources, never copies), the responses still
// waiting for a reply, and the changes it rejected. CSDS and confirmation read this, not history.
import type { EncodedResource } from "../snapshot.js";
import type { Subscription } from "./subscription.js";

/** A resource known by its version alone: a delta client said it holds it, we never sent it. */
export interface VersionOnly {
  readonly name: string;
  readonly version: string;
  readonly value?: undefined;
}

/** A resource as a client holds it. */
export type Held = EncodedResource | VersionOnly;

/** The client was told the resource does not exist. */
export const ABSENT = "absent";
export type Absent = typeof ABSENT;

export interface Nack {
  readonly version: number;
  readonly message: string;
  readonly at: number;
}

/** A change the client refused: the content it was sent (or ABSENT for a removal). */
export interface Rejection {
  readonly nack: Nack;
  readonly change: EncodedResource | Absent;
}

/** One resource of a client, for CSDS. */
export interface ResourceView {
  readonly name: string;
  /** What the client holds as ACKed; undefined when it was never told anything of it. */
  readonly acked: Held | Absent | undefined;
  /** The `version_info` of what it holds: the response's (SotW) or the resource's own (delta). */
  readonly ackedVersion: string;
  /** When the client ACKed it, when known. */
  readonly ackedAt: number | undefined;
  /** A different content on its way (sent, no reply yet). */
  readonly pending: Held | Absent | undefined;
  /** The last change to it the client refused, while the server still wants that change. */
  readonly rejected: Rejection | undefined;
}

/** The reply side and the read side, common to both transports. */
export interface Holdings {
  /** The snapshot version of the response `nonce` names, while it waits for its reply. */
  versionOf(nonce: string): number | undefined;
  /** The client ACKed response `nonce`: it holds what that response carried. */
  ack(nonce: string, at: number): void;
  /** The client NACKed response `nonce`: it keeps what it had, and refused that response's changes. */
  nack(nonce: string, nack: Nack): void;
  /** What the client holds of `name` as ACKed. */
  held(name: string): Held | undefined;
  /** Every resource the client holds, was told is absent, is being sent or refused. */
  view(subscription: Subscription): ResourceView[];
}

/** Whether two states of a resource are the same content. */
export function sameContent(a: Held | Absent | undefined, b: Held | Absent | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === ABSENT || b === ABSENT) return false;
  return a.version === b.version;
}
