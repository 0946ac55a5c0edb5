// Cluster state to Envoy v3 resources: pure and deterministic, so an unchanged resource encodes to
// the same bytes (and keeps its version) whatever else changed.
import type { Cluster } from "../generated/envoy/config/cluster/v3/Cluster.js";
import type { ClusterLoadAssignment } from "../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { Listener } from "../generated/envoy/config/listener/v3/Listener.js";
import type { RouteConfiguration } from "../generated/envoy/config/route/v3/RouteConfiguration.js";
import type { VirtualHost } from "../generated/envoy/config/route/v3/VirtualHost.js";
import type {
  ClusterState,
  EndpointModel,
  RoutingModel,
  ServiceModel,
  ServicePort,
  TrafficPolicy,
} from "../model.js";
import { DEFAULT_DOMAIN } from "../model.js";
import {
  clusterName,
  hostAliases,
  OUTBOUND_HTTP_LISTENER,
  OUTBOUND_HTTP_ROUTE,
  routeConfigName,
} from "../names.js";
import { loadXdsProtos } from "../protos.js";
import type { ResourceSet } from "../snapshot.js";
import { buildCluster } from "./clusters.js";
import { buildLoadAssignment } from "./endpoints.js";
import type { Secret } from "../generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import { spiffeUri } from "../../pki/spiffe.js";
import type { PodModel } from "../model.js";
import { ROOTCA_SECRET } from "../names.js";
import type { InboundCodecs } from "./inbound.js";
import { inboundListener } from "./inbound.js";
import type { ListenerCodecs } from "./listeners.js";
import { rootCaSecret, upstreamMtls } from "./tls.js";
import { apiListener, buildHcm } from "./listeners.js";
import { compareStrings } from "./proto-values.js";
import type { RouteTargets } from "./routes.js";
import { buildRoutes, virtualHost } from "./routes.js";
import type { ProducerRouteInputs } from "./producer-routes.js";
import { producerRoutes, producerRoutesByService, rolloutSplits } from "./producer-routes.js";

export type TranslateCodecs = ListenerCodecs & InboundCodecs;

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The state looked up by Service, with every choice between duplicates made deterministically. */
interface Index {
  readonly services: readonly ServiceModel[];
  readonly ports: ReadonlyMap<string, ReadonlySet<number>>;
  readonly endpoints: ReadonlyMap<string, readonly EndpointModel[]>;
  readonly routing: ReadonlyMap<string, RoutingModel>;
  readonly policies: ReadonlyMap<string, TrafficPolicy>;
}

function indexState(state: ClusterState): Index {
  const byKey = new Map<string, ServiceModel>();
  for (const s of state.services) {
    if (!byKey.has(key(s.namespace, s.name))) byKey.set(key(s.namespace, s.name), s);
  }
  const services = [...byKey].sort(([a], [b]) => compareStrings(a, b)).map(([, s]) => s);
  const endpoints = new Map<string, EndpointModel[]>();
  for (const e of state.endpoints) {
    const k = key(e.namespace, e.service);
    const list = endpoints.get(k);
    if (list === undefined) endpoints.set(k, [...e.endpoints]);
    else list.push(...e.endpoints);
  }
  const routing = new Map<string, RoutingModel>();
  const policies = new Map<string, TrafficPolicy>();
  const sorted = [...state.routing].sort(
    (a, b) =>
      compareStrings(a.namespace, b.namespace) ||
      compareStrings(a.service, b.service) ||
      compareStrings(a.primary, b.primary) ||
      compareStrings(a.canary, b.canary),
  );
  for (const r of sorted) {
    if (!routing.has(key(r.namespace, r.service))) routing.set(key(r.namespace, r.service), r);
    for (const s of [r.service, r.primary, r.canary]) {
      const k = key(r.namespace, s);
      if (r.trafficPolicy !== undefined && !policies.has(k)) policies.set(k, r.trafficPolicy);
    }
  }
  const ports = new Map(
    services.map((s) => [key(s.namespace, s.name), new Set(s.ports.map((p) => p.port))]),
  );
  return { services, ports, endpoints, routing, policies };
}

/** Ports in port order, each number once. */
function uniquePorts(svc: ServiceModel): ServicePort[] {
  return [...svc.ports]
    .sort((a, b) => a.port - b.port)
    .filter((p, i, all) => i === 0 || p.port !== all[i - 1]?.port);
}

/** Ports that carry HTTP (and gRPC): the ones that get routes and listeners. */
function httpPorts(svc: ServiceModel): ServicePort[] {
  return uniquePorts(svc).filter((p) => p.protocol !== "tcp");
}

/**
 * The port that host names without a port mean: 80 (what a Host header without a port says),
 * otherwise the lowest HTTP port. Only its route configuration and listeners carry them, since
 * names must be unique across listeners and across one route configuration's domains.
 */
function defaultPort(svc: ServiceModel): number | undefined {
  const http = httpPorts(svc);
  return (http.find((p) => p.port === 80) ?? http[0])?.port;
}

/**
 * Primary and canary Services are used only if they exist with this port, so every route names a
 * cluster of the snapshot: no primary means the Service's own cluster, no canary means no canary.
 */
function routeTargets(
  idx: Index,
  svc: ServiceModel,
  port: ServicePort,
  domain: string,
): RouteTargets {
  const own = clusterName(svc.namespace, svc.name, port.port, domain);
  const routing = idx.routing.get(key(svc.namespace, svc.name));
  if (routing === undefined) return { stable: own, canary: own, protocol: port.protocol };
  const cluster = (name: string): string | undefined =>
    idx.ports.get(key(svc.namespace, name))?.has(port.port) === true
      ? clusterName(svc.namespace, name, port.port, domain)
      : undefined;
  const stable = cluster(routing.primary) ?? own;
  return { stable, canary: cluster(routing.canary) ?? stable, routing, protocol: port.protocol };
}

export function translate(
  state: ClusterState,
  codecs: TranslateCodecs = loadXdsProtos().codecs,
): ResourceSet {
  const domain = state.domain ?? DEFAULT_DOMAIN;
  const idx = indexState(state);
  const clusters = new Map<
    string,
    { message: Cluster; edsName: string; secrets?: readonly string[] }
  >();
  const endpoints = new Map<string, ClusterLoadAssignment>();
  const routes = new Map<string, RouteConfiguration>();
  const listeners = new Map<
    string,
    { message: Listener; routeConfigs: string[]; secrets?: readonly string[] }
  >();
  const secrets = new Map<string, Secret>();
  const security = state.security;
  const pods = new Map((state.pods ?? []).map((p) => [key(p.namespace, p.name), p]));
  const podOf = (namespace: string, e: EndpointModel): PodModel | undefined =>
    e.podName === undefined ? undefined : pods.get(key(namespace, e.podName));
  if (security !== undefined) secrets.set(ROOTCA_SECRET, rootCaSecret(security.trustBundle));
  const outboundHosts: VirtualHost[] = [];
  const outboundDomains = new Set<string>();
  const byName = new Map(idx.services.map((s) => [key(s.namespace, s.name), s]));
  const gamma: ProducerRouteInputs = {
    byService: producerRoutesByService(state.routes ?? []),
    services: (namespace, name) => byName.get(key(namespace, name)),
    splits: rolloutSplits(idx.routing, idx.ports),
    domain,
  };

  for (const svc of idx.services) {
    const k = key(svc.namespace, svc.name);
    const svcEndpoints = idx.endpoints.get(k) ?? [];
    // Auto-mTLS, per cluster: TLS when every endpoint's pod runs the sidecar.
    const endpointPods = svcEndpoints.map((e) => podOf(svc.namespace, e));
    const meshed =
      security !== undefined &&
      endpointPods.length > 0 &&
      endpointPods.every((p) => p?.sidecar === true);
    const identities = meshed
      ? [
          ...new Set(
            endpointPods.map((p) =>
              spiffeUri({
                trustDomain: security.trustDomain,
                namespace: p?.namespace ?? svc.namespace,
                serviceAccount: p?.serviceAccount ?? "default",
              }),
            ),
          ),
        ].sort(compareStrings)
      : [];
    for (const port of uniquePorts(svc)) {
      const name = clusterName(svc.namespace, svc.name, port.port, domain);
      const cluster = buildCluster(name, idx.policies.get(k));
      if (meshed) {
        clusters.set(name, {
          message: { ...cluster, transport_socket: upstreamMtls(codecs, name, identities) },
          edsName: name,
          secrets: [ROOTCA_SECRET],
        });
      } else {
        clusters.set(name, { message: cluster, edsName: name });
      }
      endpoints.set(name, buildLoadAssignment(name, port.name, svcEndpoints));
    }
    if (security !== undefined) {
      for (const e of svcEndpoints) {
        const pod = podOf(svc.namespace, e);
        if (!e.ready || pod?.sidecar !== true) continue;
        for (const port of uniquePorts(svc)) {
          const target = e.ports[port.name];
          if (target === undefined) continue;
          const l = inboundListener({ ...pod, ip: e.address }, target, security, codecs);
          const lname = l.message.name ?? "";
          if (!listeners.has(lname))
            listeners.set(lname, { message: l.message, routeConfigs: [], secrets: l.secrets });
        }
      }
    }
    const bareNamesPort = defaultPort(svc);
    for (const port of httpPorts(svc)) {
      const rcName = routeConfigName(svc.namespace, svc.name, port.port, domain);
      const aliases = hostAliases(svc.namespace, svc.name, port.port, domain);
      const owned =
        port.port === bareNamesPort ? aliases : aliases.filter((a) => a.endsWith(`:${port.port}`));
      // A Gateway API route attached to this port replaces its defaults (and a Rollout's fields).
      const routeList =
        producerRoutes(svc, port, gamma) ??
        buildRoutes(routeTargets(idx, svc, port, domain), codecs);
      routes.set(rcName, {
        name: rcName,
        virtual_hosts: [virtualHost(rcName, aliases, routeList)],
      });

      const domains = owned.filter((d) => !outboundDomains.has(d));
      for (const d of domains) outboundDomains.add(d);
      if (domains.length > 0) outboundHosts.push(virtualHost(rcName, domains, routeList));

      const hcm = buildHcm(rcName, rcName, codecs);
      for (const alias of owned) {
        listeners.set(alias, { message: apiListener(alias, hcm), routeConfigs: [rcName] });
      }
    }
  }

  routes.set(OUTBOUND_HTTP_ROUTE, { name: OUTBOUND_HTTP_ROUTE, virtual_hosts: outboundHosts });
  listeners.set(OUTBOUND_HTTP_LISTENER, {
    message: apiListener(
      OUTBOUND_HTTP_LISTENER,
      buildHcm("outbound_http", OUTBOUND_HTTP_ROUTE, codecs),
    ),
    routeConfigs: [OUTBOUND_HTTP_ROUTE],
  });
  return { listeners, routes, clusters, endpoints, secrets };
}
