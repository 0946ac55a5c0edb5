// One incremental (delta) ADS stream: subscribes by name (`*` for listeners and clusters),
// re-subscribes everything with initial_resource_versions when it starts, answers every response
// with an ACK or a NACK, and follows subscription changes as they happen.
import type * as grpc from "@grpc/grpc-js";
import type { Node } from "../../src/xds/generated/envoy/config/core/v3/Node.js";
import type { DeltaDiscoveryRequest } from "../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import type { DeltaDiscoveryResponse__Output } from "../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js";
import type { AdsHandler } from "./ads-handler.js";
import { INVALID_ARGUMENT } from "./ads-handler.js";
import type { ResourceKind } from "./resource-kinds.js";
import { KINDS, kindOf, TYPE_URL } from "./resource-kinds.js";

export type DeltaCall = grpc.ClientDuplexStream<
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse__Output
>;

export class DeltaAdsStream {
  private readonly subscribed = new Map<ResourceKind, Set<string>>();
  /** Sent with the first request only. */
  private node: Node | undefined;

  constructor(
    private readonly call: DeltaCall,
    private readonly handler: AdsHandler,
    node: Node,
    private readonly onResponse: () => void,
  ) {
    this.node = node;
    call.on("data", (r: DeltaDiscoveryResponse__Output) => {
      this.receive(r);
    });
  }

  /** Sends what changed in the wanted names since the last request of each type. */
  sync(): void {
    for (const kind of KINDS) {
      const want = this.handler.wanted(kind);
      const had = this.subscribed.get(kind);
      if (had === undefined) {
        if (want.size === 0) continue;
        this.subscribed.set(kind, new Set(want));
        this.send({
          type_url: TYPE_URL[kind],
          resource_names_subscribe: [...want],
          initial_resource_versions: this.handler.resourceVersions(kind),
        });
        continue;
      }
      const add = [...want].filter((n) => !had.has(n));
      const remove = [...had].filter((n) => !want.has(n));
      if (add.length === 0 && remove.length === 0) continue;
      for (const n of add) had.add(n);
      for (const n of remove) had.delete(n);
      this.send({
        type_url: TYPE_URL[kind],
        resource_names_subscribe: add,
        resource_names_unsubscribe: remove,
      });
    }
  }

  private receive(r: DeltaDiscoveryResponse__Output): void {
    this.onResponse();
    const kind = kindOf(r.type_url);
    const error =
      kind === undefined
        ? `unexpected resource type ${r.type_url}`
        : this.handler.applyDelta(
            kind,
            r.system_version_info,
            r.nonce,
            r.resources,
            r.removed_resources,
          );
    this.send({
      type_url: r.type_url,
      response_nonce: r.nonce,
      ...(error !== undefined && { error_detail: { code: INVALID_ARGUMENT, message: error } }),
    });
    this.sync();
    this.handler.settle();
  }

  private send(req: DeltaDiscoveryRequest): void {
    const node = this.node;
    this.node = undefined;
    this.call.write(node === undefined ? req : { node, ...req });
  }
}
