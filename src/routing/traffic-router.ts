// How the controller moves traffic: it states the routing it wants for an apex Service and asks
// whether every proxy that routes to that Service has confirmed it.
import type { RoutingModel } from "../xds/model.js";

export interface TrafficState {
  /** The routing last requested, or undefined if none. */
  readonly requested: RoutingModel | undefined;
  /** True once every proxy holding the Service's routes has ACKed the requested routing. */
  readonly confirmed: boolean;
  /** Proxies that route to the Service, and how many of them still have to confirm. */
  readonly proxies: number;
  readonly pending: number;
  /**
   * While not confirmed, who it waits for, for people: the proxies that have not ACKed (by node
   * id), or that no proxy has reconnected since this replica began serving.
   */
  readonly waitingOn?: string;
  /**
   * The Gateway API routes attached to the Service (`HTTPRoute ns/name`): on the ports they bind
   * they replace the Service's own routes, so only the canary weight of a Rollout applies there.
   */
  readonly boundBy?: readonly string[];
}

export interface TrafficRouter {
  setRouting(routing: RoutingModel): void;
  clearRouting(namespace: string, service: string): void;
  state(namespace: string, service: string): TrafficState;
}
