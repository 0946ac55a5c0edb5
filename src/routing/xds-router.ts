// The TrafficRouter of vireo's own mesh: routing goes into the xDS snapshot, and a Service's
// routing counts as confirmed when every proxy holding its routes has ACKed the snapshot version
// that first carried it. Routing that would send requests to a Service with no ready endpoint is
// held back (the last routing stays) until the endpoints exist: a Deployment reports its pods ready
// before their EndpointSlice says so, and a route published in between answers 503.
import { isDeepStrictEqual } from "node:util";
import type { RoutingModel, ServiceEndpoints, ServiceModel } from "../xds/model.js";
import { OUTBOUND_HTTP_ROUTE, routeConfigName } from "../xds/names.js";
import { parseNodeId } from "../xds/node-id.js";
import type { ProxyPod } from "../xds/watch/proxy-presence.js";
import type { Confirmation, ResourceRef, XdsServer } from "../xds/server/xds-server.js";
import type { Snapshot } from "../xds/snapshot.js";
import { TYPE } from "../xds/snapshot.js";
import type { TrafficRouter, TrafficState } from "./traffic-router.js";

export interface RoutingSink {
  setRouting(namespace: string, service: string, routing: RoutingModel | undefined): void;
  /** The Services currently known, to find the route configurations of one. */
  services(): readonly ServiceModel[];
  /** The endpoints currently known per Service. */
  endpoints(): readonly ServiceEndpoints[];
  /**
   * The Services whose Gateway API routes send to this one: their route configurations carry
   * its split too, so the proxies holding them must confirm it as well.
   */
  routedFrom(namespace: string, service: string): readonly { namespace: string; name: string }[];
  /**
   * The pods whose proxy container runs (in the namespaces this controller serves); absent when
   * pods are not watched (no CA). A new leader waits for those whose proxy started before it
   * began serving: they may still route with what its predecessor told them.
   */
  proxyPods?(): readonly ProxyPod[];
  /** The Gateway API routes attached to this Service, for people (`HTTPRoute ns/name`). */
  routesBinding(namespace: string, service: string): readonly string[];
}

interface Requested {
  readonly model: RoutingModel;
  /** Not yet given to the sink: a Service it sends traffic to has no ready endpoint. */
  held: boolean;
  /** The first snapshot version that carried this routing. */
  version: number | undefined;
}

/**
 * A replica that has just begun serving xDS believes no confirmation until its proxies could
 * reconnect: a proxy that is not connected is not counted as pending, so "no proxy holds the
 * route" would read as "every proxy has it". The proxies of the replica before come back only once
 * the xDS Service points at this pod (its label and readiness, then kube-proxy: 50-60 s seen on
 * the local cluster) and their back-off (up to 10 s) has run. So: RECONNECT_GRACE_MS after the
 * first proxy holding the Service's routes is seen, or RECONNECT_MAX_WAIT_MS if none comes back.
 * Without it a new leader moved the release on and scaled pods away while the proxies still sent
 * to them (the e2e suite's controller-kill release: every request failed for 34 s).
 */
export const RECONNECT_GRACE_MS = 15_000;
export const RECONNECT_MAX_WAIT_MS = 120_000;

export interface RouterTiming {
  readonly now: () => number;
  /** After the first proxy is back; 0 turns the wait off (a controller with no predecessor). */
  readonly reconnectGraceMs: number;
  readonly reconnectMaxWaitMs: number;
}

export class XdsTrafficRouter implements TrafficRouter {
  private readonly requested = new Map<string, Requested>();
  /** When this replica began serving xDS, and when it first saw a proxy holding a route since. */
  private servingSince: number | undefined;
  private firstHolderAt: number | undefined;

  constructor(
    private readonly sink: RoutingSink,
    private readonly server: Pick<XdsServer, "confirmationFor" | "nodeIds">,
    private readonly timing: RouterTiming = {
      now: Date.now,
      reconnectGraceMs: 0,
      reconnectMaxWaitMs: 0,
    },
  ) {}

  /** Call when this replica starts serving xDS (it became the leader). */
  servingStarted(): void {
    this.servingSince = this.timing.now();
    this.firstHolderAt = undefined;
  }

  /** Whether the proxies have had the time to reconnect since this replica began serving. */
  private settled(holders: number): boolean {
    const { reconnectGraceMs, reconnectMaxWaitMs } = this.timing;
    if (reconnectGraceMs === 0) return true;
    if (this.servingSince === undefined) return false;
    const now = this.timing.now();
    if (holders > 0) this.firstHolderAt ??= now;
    if (this.firstHolderAt !== undefined) return now - this.firstHolderAt >= reconnectGraceMs;
    return now - this.servingSince >= reconnectMaxWaitMs;
  }

  /**
   * While a new leader may still be waiting for its predecessor's proxies (RECONNECT_MAX_WAIT_MS
   * since it began serving): the pods whose proxy ran before it began serving and is not
   * connected now, as `pod.namespace`. Those proxies may still route with the predecessor's last
   * configuration, so nothing is confirmed without them; after the longest wait they are left to
   * the progress deadline's judgement of the proxies that are connected.
   */
  private notReconnected(): string[] {
    const since = this.servingSince;
    if (since === undefined || this.timing.reconnectGraceMs === 0) return [];
    if (this.timing.now() - since >= this.timing.reconnectMaxWaitMs) return [];
    const earlier = (this.sink.proxyPods?.() ?? []).filter((p) => p.proxyStartedAt < since);
    if (earlier.length === 0) return [];
    const connected = new Set<string>();
    for (const id of this.server.nodeIds()) {
      const n = parseNodeId(id);
      if (n !== undefined) connected.add(`${n.pod}.${n.namespace}`);
    }
    return earlier.map((p) => `${p.name}.${p.namespace}`).filter((p) => !connected.has(p));
  }

  setRouting(routing: RoutingModel): void {
    const key = `${routing.namespace}/${routing.service}`;
    const prev = this.requested.get(key);
    if (prev !== undefined && isDeepStrictEqual(prev.model, routing)) return;
    const r: Requested = { model: routing, held: true, version: undefined };
    this.requested.set(key, r);
    this.release(r, this.sink.endpoints());
  }

  clearRouting(namespace: string, service: string): void {
    this.requested.delete(`${namespace}/${service}`);
    this.sink.setRouting(namespace, service, undefined);
  }

  /** Call with every published snapshot: requests without a version get this one. */
  published(snapshot: Snapshot): void {
    let endpoints: readonly ServiceEndpoints[] | undefined;
    for (const r of this.requested.values()) {
      if (r.held) this.release(r, (endpoints ??= this.sink.endpoints()));
      else r.version ??= snapshot.version;
    }
  }

  /** Gives held routing to the sink once every Service it sends traffic to has a ready endpoint. */
  private release(r: Requested, endpoints: readonly ServiceEndpoints[]): void {
    const ready = (service: string): boolean =>
      endpoints.some(
        (e) =>
          e.namespace === r.model.namespace &&
          e.service === service &&
          e.endpoints.some((ep) => ep.ready),
      );
    if (!receivers(r.model).every(ready)) return;
    r.held = false;
    this.sink.setRouting(r.model.namespace, r.model.service, r.model);
  }

  state(namespace: string, service: string): TrafficState {
    const bound = this.sink.routesBinding(namespace, service);
    const boundBy = bound.length === 0 ? {} : { boundBy: bound };
    const r = this.requested.get(`${namespace}/${service}`);
    if (r === undefined) {
      return { requested: undefined, confirmed: false, proxies: 0, pending: 0, ...boundBy };
    }
    if (r.held || r.version === undefined) {
      const waitingOn = r.held
        ? "routing held until every Service it sends to has a ready endpoint"
        : "routing not yet published";
      return {
        requested: r.model,
        confirmed: false,
        proxies: 0,
        pending: 0,
        waitingOn,
        ...boundBy,
      };
    }
    const c = this.server.confirmationFor(this.routeRefs(namespace, service), r.version);
    const settled = this.settled(c.holders);
    const missing = this.notReconnected();
    const confirmed =
      settled && c.pending.length === 0 && c.disconnected.length === 0 && missing.length === 0;
    return {
      requested: r.model,
      confirmed,
      proxies: c.holders + missing.length,
      pending: c.pending.length + c.disconnected.length + missing.length,
      ...(confirmed ? {} : { waitingOn: waitingOn(c, missing) }),
      ...boundBy,
    };
  }

  private routeRefs(namespace: string, service: string): ResourceRef[] {
    const all = this.sink.services();
    const refs: ResourceRef[] = [{ typeUrl: TYPE.route, name: OUTBOUND_HTTP_ROUTE }];
    for (const from of [
      { namespace, name: service },
      ...this.sink.routedFrom(namespace, service),
    ]) {
      const svc = all.find((s) => s.namespace === from.namespace && s.name === from.name);
      for (const p of svc?.ports ?? []) {
        refs.push({
          typeUrl: TYPE.route,
          name: routeConfigName(from.namespace, from.name, p.port),
        });
      }
    }
    return refs;
  }
}

/** The Services `routing` sends requests to (a mirror's copies do not count: nobody reads them). */
function receivers(routing: RoutingModel): string[] {
  const canary = routing.canaryWeight > 0 || (routing.canaryMatches?.length ?? 0) > 0;
  return [
    ...(routing.canaryWeight < 100 ? [routing.primary] : []),
    ...(canary ? [routing.canary] : []),
  ];
}

/** Names shown of the proxies a confirmation waits for; the rest are counted. */
const NAMED = 3;

/**
 * Why a routing is not confirmed: the proxies that have not ACKed it, those cut off from the
 * control plane while their pods run, or the proxies not reconnected yet.
 */
function waitingOn(c: Confirmation, missing: readonly string[]): string {
  const { holders, pending, disconnected } = c;
  if (pending.length === 0 && disconnected.length === 0 && missing.length === 0) {
    return `proxies reconnecting to this controller (${String(holders)} back so far)`;
  }
  const parts: string[] = [];
  if (pending.length > 0) parts.push(`not yet ACKed by ${named(pending.map((p) => p.nodeId))}`);
  if (disconnected.length > 0) {
    const since = Math.min(...disconnected.map((d) => d.disconnectedAt));
    parts.push(
      `not connected (pods running, since ${new Date(since).toISOString().slice(0, 19)}Z): ${named(disconnected.map((d) => d.nodeId))}`,
    );
  }
  if (missing.length > 0) {
    parts.push(`not yet reconnected to this controller: ${namedPods(missing)}`);
  }
  const waiting = pending.length + disconnected.length + missing.length;
  return `${parts.join("; ")} (${String(waiting)} of ${String(holders + missing.length)} proxies)`;
}

function named(nodeIds: readonly string[]): string {
  return namedPods(nodeIds.map(proxyName));
}

function namedPods(pods: readonly string[]): string {
  const names = [...pods].sort();
  const shown = names.slice(0, NAMED).join(", ");
  return names.length > NAMED ? `${shown} and ${String(names.length - NAMED)} more` : shown;
}

/** `pod.namespace` of a proxy's node id, or the id itself. */
function proxyName(nodeId: string): string {
  const node = parseNodeId(nodeId);
  return node === undefined ? nodeId || "(no node id)" : `${node.pod}.${node.namespace}`;
}
