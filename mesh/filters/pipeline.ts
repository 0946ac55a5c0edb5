// The request path as data: a request goes through `(next) => next` filters (route, fault, route
// edits, mirror) to the router, and comes back as a response that is either local or upstream's.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ConnectionSecurity } from "../listeners/inbound-guard.js";
import type { ForwardRoute } from "../routing/model.js";
import type { Cancel } from "../upstream/cancel.js";
import type { UpstreamCluster } from "../upstream/cluster.js";
import type { UpstreamResponse } from "../upstream/outcome.js";
import type { RecordBuilder } from "./request-record.js";
import type { RequestBody } from "./request-body.js";

export interface ProxyRequest {
  readonly method: string;
  /** As the client sent it (Host, :authority or the absolute URI's), lower case. */
  readonly authority: string;
  /** What the route table is searched for: `authority` with bare Service names expanded. */
  readonly lookupAuthority: string;
  /** Origin form, query included. */
  readonly path: string;
  /** Downstream headers as received (HTTP/2 pseudo-headers included), peer headers removed. */
  readonly headers: IncomingHttpHeaders;
  /** Headers this proxy adds to every request it sends upstream (its own peer headers). */
  readonly addHeaders?: Readonly<Record<string, string>>;
  readonly http2: boolean;
  readonly grpc: boolean;
  readonly body: RequestBody;
  /** Fires when the downstream goes away before the response is complete. */
  readonly signal: Cancel;
  /** Inbound under mesh security: how the connection was accepted. */
  readonly connection?: ConnectionSecurity;
}

export interface Exchange {
  readonly request: ProxyRequest;
  readonly record: RecordBuilder;
}

/** An exchange with its route, and the upstream cluster chosen from the route's weighted set. */
export interface Routed extends Exchange {
  readonly route: ForwardRoute;
  readonly cluster: UpstreamCluster;
  /** Other clusters of the same snapshot by name (mirrors), if they exist. */
  readonly clusterNamed: (name: string) => UpstreamCluster | undefined;
  /** Whether requests of this exchange go to `cluster` over HTTP/2. */
  readonly http2For: (cluster: UpstreamCluster) => boolean;
}

export type ProxyResponse =
  | {
      readonly kind: "local";
      readonly status: number;
      readonly body: string;
      readonly headers?: OutgoingHttpHeaders;
      /** For gRPC requests; derived from `status` when absent. */
      readonly grpcStatus?: number;
    }
  | { readonly kind: "upstream"; readonly response: UpstreamResponse };

export type Handler = (x: Exchange) => Promise<ProxyResponse>;
export type RoutedHandler = (x: Routed) => Promise<ProxyResponse>;
export type RoutedFilter = (next: RoutedHandler) => RoutedHandler;

/** Filters in request order: the first one listed sees the request first. */
export function chain(filters: readonly RoutedFilter[], terminal: RoutedHandler): RoutedHandler {
  return filters.reduceRight<RoutedHandler>((next, f) => f(next), terminal);
}
