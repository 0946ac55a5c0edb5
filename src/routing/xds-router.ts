// The TrafficRouter of vireo's own mesh: routing goes into the xDS snapshot, and a Service's
// routing counts as confirmed when every proxy holding its routes has ACKed the snapshot version
// that first carried it.
import { isDeepStrictEqual } from "node:util";
import type { RoutingModel, ServiceModel } from "../xds/model.js";
import { OUTBOUND_HTTP_ROUTE, routeConfigName } from "../xds/names.js";
import type { ResourceRef, XdsServer } from "../xds/server/xds-server.js";
import type { Snapshot } from "../xds/snapshot.js";
import { TYPE } from "../xds/snapshot.js";
import type { TrafficRouter, TrafficState } from "./traffic-router.js";

export interface RoutingSink {
  setRouting(namespace: string, service: string, routing: RoutingModel | undefined): void;
  /** The Services currently known, to find the route configurations of one. */
  services(): readonly ServiceModel[];
}

interface Requested {
  readonly model: RoutingModel;
  /** The first snapshot version that carried this routing. */
  version: number | undefined;
}

export class XdsTrafficRouter implements TrafficRouter {
  private readonly requested = new Map<string, Requested>();

  constructor(
    private readonly sink: RoutingSink,
    private readonly server: Pick<XdsServer, "confirmationFor">,
  ) {}

  setRouting(routing: RoutingModel): void {
    const key = `${routing.namespace}/${routing.service}`;
    const prev = this.requested.get(key);
    if (prev !== undefined && isDeepStrictEqual(prev.model, routing)) return;
    this.requested.set(key, { model: routing, version: undefined });
    this.sink.setRouting(routing.namespace, routing.service, routing);
  }

  clearRouting(namespace: string, service: string): void {
    this.requested.delete(`${namespace}/${service}`);
    this.sink.setRouting(namespace, service, undefined);
  }

  /** Call with every published snapshot: requests without a version get this one. */
  published(snapshot: Snapshot): void {
    for (const r of this.requested.values()) r.version ??= snapshot.version;
  }

  state(namespace: string, service: string): TrafficState {
    const r = this.requested.get(`${namespace}/${service}`);
    if (r === undefined) return { requested: undefined, confirmed: false, proxies: 0, pending: 0 };
    if (r.version === undefined)
      return { requested: r.model, confirmed: false, proxies: 0, pending: 0 };
    const c = this.server.confirmationFor(this.routeRefs(namespace, service), r.version);
    return {
      requested: r.model,
      confirmed: c.pending.length === 0,
      proxies: c.holders,
      pending: c.pending.length,
    };
  }

  private routeRefs(namespace: string, service: string): ResourceRef[] {
    const svc = this.sink.services().find((s) => s.namespace === namespace && s.name === service);
    const refs: ResourceRef[] = [{ typeUrl: TYPE.route, name: OUTBOUND_HTTP_ROUTE }];
    for (const p of svc?.ports ?? []) {
      refs.push({ typeUrl: TYPE.route, name: routeConfigName(namespace, service, p.port) });
    }
    return refs;
  }
}
