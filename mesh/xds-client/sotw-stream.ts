// One state-of-the-world ADS stream: every request names the full set for its type (an empty
// list, never sent with names before, is the wildcard), carries the last accepted version and
// the type's latest nonce; a NACK carries the version still in use.
import type * as grpc from "@grpc/grpc-js";
import type { Node } from "../../src/xds/generated/envoy/config/core/v3/Node.js";
import type { DiscoveryRequest } from "../../src/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import type { DiscoveryResponse__Output } from "../../src/xds/generated/envoy/service/discovery/v3/DiscoveryResponse.js";
import type { AdsHandler } from "./ads-handler.js";
import { INVALID_ARGUMENT } from "./ads-handler.js";
import type { ResourceKind } from "./resource-kinds.js";
import { KINDS, kindOf, TYPE_URL } from "./resource-kinds.js";

export type SotwCall = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse__Output>;

/**
 * A wildcard alone is requested with no names at all (understood by every server); with other
 * names besides, `*` is named explicitly (the xDS protocol's wildcard-plus-names form).
 */
function requestNames(names: readonly string[]): string[] {
  return names.length === 1 && names[0] === "*" ? [] : [...names];
}

export class SotwAdsStream {
  private readonly requested = new Map<ResourceKind, readonly string[]>();
  private readonly nonces = new Map<ResourceKind, string>();
  private node: Node | undefined;

  constructor(
    private readonly call: SotwCall,
    private readonly handler: AdsHandler,
    node: Node,
    private readonly onResponse: () => void,
  ) {
    this.node = node;
    call.on("data", (r: DiscoveryResponse__Output) => {
      this.receive(r);
    });
  }

  /** Sends a request for each type whose wanted names differ from the last ones sent. */
  sync(): void {
    for (const kind of KINDS) {
      const want = [...this.handler.wanted(kind)].sort();
      const had = this.requested.get(kind);
      if (had === undefined ? want.length === 0 : sameNames(had, want)) continue;
      this.requested.set(kind, want);
      this.send(kind, {});
    }
  }

  private receive(r: DiscoveryResponse__Output): void {
    this.onResponse();
    const kind = kindOf(r.type_url);
    if (kind === undefined) {
      this.call.write({
        type_url: r.type_url,
        response_nonce: r.nonce,
        error_detail: { code: INVALID_ARGUMENT, message: `unexpected resource type ${r.type_url}` },
      });
      return;
    }
    this.nonces.set(kind, r.nonce);
    const error = this.handler.applySotw(kind, r.version_info, r.nonce, r.resources);
    this.send(
      kind,
      error === undefined ? {} : { error_detail: { code: INVALID_ARGUMENT, message: error } },
    );
    this.sync();
    this.handler.settle();
  }

  private send(kind: ResourceKind, extra: Pick<DiscoveryRequest, "error_detail">): void {
    const node = this.node;
    this.node = undefined;
    this.call.write({
      ...(node !== undefined && { node }),
      type_url: TYPE_URL[kind],
      version_info: this.handler.acceptedVersion(kind),
      resource_names: requestNames(this.requested.get(kind) ?? []),
      response_nonce: this.nonces.get(kind) ?? "",
      ...extra,
    });
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
