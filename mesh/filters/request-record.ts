// The access-log record of one downstream request: what telemetry subscribes to through the
// proxy's `onRequestDone` hook. Response flags use Envoy's short names.
import type { PeerWorkload } from "../telemetry/peer-headers.js";

/** Envoy `%RESPONSE_FLAGS%` short names the proxy sets. */
export type ResponseFlag =
  | "UH" // no healthy upstream
  | "UF" // upstream connection failure
  | "UO" // upstream overflow (circuit breaking)
  | "NR" // no route
  | "NC" // no cluster
  | "URX" // retry limit exceeded
  | "UT" // upstream request timeout
  | "UR" // upstream remote reset
  | "UC" // upstream connection termination
  | "DC" // downstream connection termination
  | "SI" // stream idle timeout (the request body stalled)
  | "DI" // delay injected
  | "FI" // fault injected (abort)
  | "DPE"; // downstream protocol error

export type Direction = "outbound" | "inbound" | "gateway";

export interface RequestRecord {
  readonly direction: Direction;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  /** `http` or `grpc` (the `request_protocol` label). */
  readonly protocol: "http" | "grpc";
  /** HTTP status sent downstream; 0 when none was. */
  readonly status: number;
  readonly flags: readonly ResponseFlag[];
  readonly upstreamCluster: string | undefined;
  /** `address:port` of the last upstream tried. */
  readonly upstreamHost: string | undefined;
  readonly durationMs: number;
  readonly bytes: { readonly received: number; readonly sent: number };
  /** grpc-status sent downstream (trailers, or headers of a trailers-only response). */
  readonly grpcStatus: number | undefined;
  /** The workload at the other end, as its proxy named it in peer headers. */
  readonly peer?: PeerWorkload;
  /** Inbound: the connection was mutual TLS (a verified client certificate). */
  readonly mutualTls?: boolean;
  /** Inbound over mutual TLS: the client certificate's SPIFFE URI SAN. */
  readonly peerPrincipal?: string;
}

export type RequestDoneHook = (record: RequestRecord) => void;

/** `UF,URX`, or `-` when there are none: the form of Envoy's access log and Istio's label. */
export function formatFlags(flags: readonly ResponseFlag[]): string {
  return flags.length === 0 ? "-" : flags.join(",");
}

/** The record while the request is in flight; filters add to it, the listener seals it. */
export class RecordBuilder {
  readonly flags: ResponseFlag[] = [];
  upstreamCluster: string | undefined;
  upstreamHost: string | undefined;
  status = 0;
  grpcStatus: number | undefined;
  received = 0;
  sent = 0;
  peer: PeerWorkload | undefined;
  mutualTls = false;
  peerPrincipal: string | undefined;

  constructor(
    readonly direction: Direction,
    readonly method: string,
    readonly authority: string,
    readonly path: string,
    readonly protocol: "http" | "grpc",
    readonly startMs: number,
  ) {}

  flag(f: ResponseFlag): void {
    if (!this.flags.includes(f)) this.flags.push(f);
  }

  seal(nowMs: number): RequestRecord {
    return {
      direction: this.direction,
      method: this.method,
      authority: this.authority,
      path: this.path,
      protocol: this.protocol,
      status: this.status,
      flags: this.flags,
      upstreamCluster: this.upstreamCluster,
      upstreamHost: this.upstreamHost,
      durationMs: Math.max(0, nowMs - this.startMs),
      bytes: { received: this.received, sent: this.sent },
      grpcStatus: this.grpcStatus,
      ...(this.peer === undefined ? {} : { peer: this.peer }),
      ...(this.mutualTls && { mutualTls: true }),
      ...(this.peerPrincipal !== undefined && { peerPrincipal: this.peerPrincipal }),
    };
  }
}
