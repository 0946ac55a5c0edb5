// The data-plane proxy assembled: listeners (outbound, inbound, gateway) in front of one request
// path (route → fault → mirror → router) and one set of upstream clusters, all reading the
// routing snapshot the xDS client swaps in whole.
import type { Clock } from "../src/common/clock.js";
import { describeError, VireoError } from "../src/common/errors.js";
import type { Logger } from "../src/common/logger.js";
import { DEFAULT_DOMAIN } from "../src/xds/model.js";
import { OUTBOUND_HTTP_LISTENER } from "../src/xds/names.js";
import { faultFilter } from "./filters/fault-filter.js";
import { mirrorFilter } from "./filters/mirror-filter.js";
import { editFilter } from "./filters/route-edits.js";
import type { Handler } from "./filters/pipeline.js";
import { chain } from "./filters/pipeline.js";
import { rbacFilter } from "./filters/rbac-filter.js";
import type { Direction, RequestDoneHook } from "./filters/request-record.js";
import { RecordBuilder } from "./filters/request-record.js";
import { routeStep } from "./filters/route-filter.js";
import { routerHandler } from "./filters/router-filter.js";
import { BodyWatch } from "./listeners/body-watch.js";
import type { ListenerLimits } from "./listeners/http-listener.js";
import { DEFAULT_LIMITS, HttpListener } from "./listeners/http-listener.js";
import { INBOUND_LISTENER, inboundClusterName, inboundSnapshot } from "./listeners/inbound.js";
import type { Accept } from "./listeners/inbound-guard.js";
import { inboundGuard } from "./listeners/inbound-guard.js";
import type { CaptureListenerDeps, PassthroughReason } from "./listeners/capture.js";
import {
  CaptureListener,
  DEFAULT_DETECTION_TIMEOUT_MS,
  inboundRoute,
  outboundRoute,
} from "./listeners/capture.js";
import type { OriginalDestination, OriginalDestinationReader } from "./listeners/orig-dst.js";
import type { NodeRequest, NodeResponse } from "./listeners/serve.js";
import { serve } from "./listeners/serve.js";
import type { Socket } from "node:net";
import { expandServiceName } from "./routing/authority.js";
import type { RoutingSnapshot } from "./routing/model.js";
import { selectVirtualHost } from "./routing/router.js";
import { EMPTY_SNAPSHOT } from "./routing/model.js";
import { inboundListenerName } from "./routing/security-model.js";
import type { TlsMaterialSource } from "./tls/material.js";
import { ClusterManager } from "./upstream/cluster-manager.js";
import type { ProxyIdentity } from "./telemetry/identity.js";
import { peerExchange } from "./telemetry/peer-headers.js";

export type ProxyRole = "sidecar" | "gateway";

export interface ProxyOptions {
  readonly role: ProxyRole;
  /** The proxy's own namespace, which bare Service names are expanded with. */
  readonly namespace: string;
  readonly snapshot: () => RoutingSnapshot;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onRequestDone?: RequestDoneHook;
  readonly random?: () => number;
  /** Cluster domain; `cluster.local` by default. */
  readonly domain?: string;
  readonly limits?: Partial<ListenerLimits>;
  /** Request bodies up to this size are kept so they can be retried and mirrored (64 KiB). */
  readonly retryBufferBytes?: number;
  /** Who this proxy serves: named to peers in headers, for telemetry on both sides. */
  readonly identity?: ProxyIdentity;
  /**
   * Mesh security: the proxy's certificate and trust bundles. With it, inbound ports follow
   * their `vireo/inbound?address=…` listeners (TLS, PeerAuthentication, RBAC) and clusters with
   * upstream TLS connect with mutual TLS. Without it, inbound ports are plaintext and open.
   */
  /** A captured TCP connection passed through untouched (metrics). */
  readonly onPassthrough?: (direction: "outbound" | "inbound", reason: PassthroughReason) => void;
  readonly security?: {
    readonly material: TlsMaterialSource;
    readonly handshakeTimeoutMs?: number;
  };
}

export interface CaptureSettings {
  readonly reader: OriginalDestinationReader;
  /** How long a redirected connection may stay silent before it is passed through (1 s). */
  readonly detectionTimeoutMs?: number;
  /** Ports the proxy itself serves on loopback (admin): inbound capture never passes them on. */
  readonly reservedPorts?: readonly number[];
}

/** The inbound capture listener's name in logs. */
export const INBOUND_CAPTURE_LISTENER = "vireo-inbound-capture";

export interface BoundListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

export interface Proxy {
  /** The explicit HTTP proxy applications reach through HTTP_PROXY, routing by Host. */
  listenOutbound(port: number, host?: string): Promise<BoundListener>;
  /** Traffic to the pod's port, forwarded to the app on 127.0.0.1:<targetPort>. */
  listenInbound(podIP: string, port: number, targetPort: number): Promise<BoundListener>;
  /**
   * Transparent outbound capture (where iptables redirects the app's TCP): redirected HTTP and
   * h2c the mesh routes take the request path, the rest passes through to the original
   * destination; connections not redirected are the explicit HTTP proxy, as `listenOutbound`.
   */
  listenOutboundCapture(
    port: number,
    host: string,
    capture: CaptureSettings,
  ): Promise<BoundListener>;
  /**
   * Transparent inbound capture: a connection to app port P (one of `appPorts`) takes P's inbound
   * listener (security of `vireo/inbound?address=<podIP>:<P>`) to 127.0.0.1:P; an unlisted port is
   * refused under mesh security and passed through as TCP without it.
   */
  listenInboundCapture(
    podIP: string,
    port: number,
    appPorts: readonly number[],
    capture: CaptureSettings,
  ): Promise<BoundListener>;
  /** An ingress port routing by Host through the named listener's route configuration. */
  listenGateway(port: number, host?: string, listener?: string): Promise<BoundListener>;
  /** Stops accepting, lets requests in flight finish, then closes idle connections. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_RETRY_BUFFER_BYTES = 64 * 1024;
/** Time a downstream connection has for its first byte and its TLS handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export function createProxy(options: ProxyOptions): Proxy {
  const { clock, log, role } = options;
  const random = options.random ?? Math.random;
  const domain = options.domain ?? DEFAULT_DOMAIN;
  const limits: ListenerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const hook = options.onRequestDone;
  // A subscriber's failure is its own: it must not break the request path.
  const onRequestDone: RequestDoneHook = (record) => {
    try {
      hook?.(record);
    } catch (err) {
      log.error("onRequestDone failed", { error: describeError(err) });
    }
  };
  const security = options.security;
  const clusters = new ClusterManager(options.snapshot, {
    clock,
    random,
    ...(security !== undefined && { tls: security.material }),
  });
  const routed = chain(
    [faultFilter({ clock, random }), editFilter(), mirrorFilter({ clock, random, log })],
    routerHandler({ clock, random }),
  );
  const listeners: HttpListener[] = [];
  // One sweep for the request bodies of every listener.
  const watch = new BodyWatch(clock, limits.requestBodyIdleTimeoutMs);
  const captures: CaptureListener[] = [];
  const captureDeps = (c: CaptureSettings): CaptureListenerDeps => ({
    reader: c.reader,
    clock,
    log,
    detectionTimeoutMs: c.detectionTimeoutMs ?? DEFAULT_DETECTION_TIMEOUT_MS,
    ...(options.onPassthrough !== undefined && { onPassthrough: options.onPassthrough }),
  });
  let inflight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  const begin = (): (() => void) => {
    inflight++;
    return () => {
      if (--inflight === 0) idle?.();
    };
  };
  const expand = (a: string): string => expandServiceName(a, options.namespace, domain);

  /** The HTTP stage of a listener: its request path, and its connection stage if guarded. */
  function httpListener(
    direction: Direction,
    name: string,
    snapshot: () => RoutingSnapshot,
    guard?: { readonly accept: Accept; readonly filter: (next: Handler) => Handler },
  ): HttpListener {
    const routedHandler = routeStep({
      snapshot,
      listener: name,
      clusters,
      random,
      useDownstreamProtocol: direction === "inbound",
    })(routed);
    const handler = guard === undefined ? routedHandler : guard.filter(routedHandler);
    const deps = {
      direction,
      handler,
      clock,
      log,
      onRequestDone,
      lookupKey: direction === "inbound" ? (a: string) => a : expand,
      retryBufferBytes: options.retryBufferBytes ?? DEFAULT_RETRY_BUFFER_BYTES,
      maxRequestBodyBytes: limits.maxRequestBodyBytes,
      watch,
      draining: () => draining,
      begin,
      ...(options.identity === undefined
        ? {}
        : { peers: peerExchange(direction, options.identity) }),
    };
    const onMalformed = (status: number): void => {
      const r = new RecordBuilder(direction, "", "", "", "http", clock.now());
      r.status = status;
      r.flag("DPE");
      onRequestDone(r.seal(clock.now()));
    };
    const onRequest = (req: NodeRequest, res: NodeResponse): void => {
      serve(deps, req, res);
    };
    const listener = new HttpListener(onRequest, limits, clock, onMalformed, guard?.accept);
    listeners.push(listener);
    return listener;
  }

  async function open(
    direction: Direction,
    name: string,
    snapshot: () => RoutingSnapshot,
    port: number,
    host: string,
    guard?: { readonly accept: Accept; readonly filter: (next: Handler) => Handler },
  ): Promise<BoundListener> {
    const listener = httpListener(direction, name, snapshot, guard);
    const address = await listener.listen(port, host);
    log.info("listening", {
      listener: name,
      direction,
      address: address.address,
      port: address.port,
    });
    return { name, address: address.address, port: address.port };
  }

  /**
   * The HTTP stage for one inbound port P: requests go to 127.0.0.1:<targetPort>; under mesh
   * security the connection first passes `vireo/inbound?address=<podIP>:<P>` (mTLS mode, RBAC).
   */
  function inboundPort(podIP: string, port: () => number, targetPort: () => number): HttpListener {
    let local = EMPTY_SNAPSHOT;
    let localFor = -1;
    const snapshot = (): RoutingSnapshot => {
      // Named after the port, which port 0 leaves to the system: built once it is known.
      if (localFor !== port()) {
        localFor = port();
        clusters.pin(inboundClusterName(localFor));
        local = inboundSnapshot(localFor, targetPort());
      }
      return local;
    };
    const guard =
      security === undefined
        ? undefined
        : inboundGuard({
            listener: () => inboundListenerName(podIP, port()),
            snapshot: options.snapshot,
            material: security.material,
            clock,
            log,
            handshakeTimeoutMs: security.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
          });
    return httpListener(
      "inbound",
      INBOUND_LISTENER,
      snapshot,
      guard && { accept: guard.accept, filter: rbacFilter(guard.config) },
    );
  }

  async function capture(
    name: string,
    port: number,
    host: string,
    deps: CaptureListenerDeps,
    route: (socket: Socket, dst: OriginalDestination | undefined) => void,
  ): Promise<BoundListener> {
    const listener = new CaptureListener(deps, route);
    const address = await listener.listen(port, host);
    captures.push(listener);
    log.info("listening", {
      listener: name,
      capture: true,
      address: address.address,
      port: address.port,
    });
    return { name, address: address.address, port: address.port };
  }

  const requireRole = (wanted: ProxyRole, what: string): void => {
    if (role !== wanted) {
      throw new VireoError("BadConfig", `a ${role} proxy has no ${what} listener`);
    }
  };

  return {
    async listenOutbound(port, host = "127.0.0.1") {
      requireRole("sidecar", "outbound");
      return open("outbound", OUTBOUND_HTTP_LISTENER, options.snapshot, port, host);
    },
    async listenInbound(podIP, port, targetPort) {
      requireRole("sidecar", "inbound");
      // Named after the address bound, known once bound; nothing connects before that.
      let bound = port;
      const listener = inboundPort(
        podIP,
        () => bound,
        () => targetPort,
      );
      const address = await listener.listen(port, podIP);
      bound = address.port;
      log.info("listening", {
        listener: INBOUND_LISTENER,
        direction: "inbound",
        address: address.address,
        port: bound,
      });
      return { name: INBOUND_LISTENER, address: address.address, port: bound };
    },
    async listenOutboundCapture(port, host, capture_) {
      requireRole("sidecar", "outbound");
      const http = httpListener("outbound", OUTBOUND_HTTP_LISTENER, options.snapshot);
      const routes = (authority: string): boolean => {
        const snap = options.snapshot();
        const rc = snap.listeners.get(OUTBOUND_HTTP_LISTENER)?.routeConfig;
        const table = rc === undefined ? undefined : snap.routeTables.get(rc);
        return table !== undefined && selectVirtualHost(table, expand(authority)) !== undefined;
      };
      const deps = captureDeps(capture_);
      return capture(
        OUTBOUND_HTTP_LISTENER,
        port,
        host,
        deps,
        outboundRoute(deps, {
          http: (s) => {
            http.take(s);
          },
          routes,
        }),
      );
    },
    async listenInboundCapture(podIP, port, appPorts, capture_) {
      requireRole("sidecar", "inbound");
      const byPort = new Map(
        appPorts.map((p) => {
          const l = inboundPort(
            podIP,
            () => p,
            () => p,
          );
          return [
            p,
            (s: Socket) => {
              l.take(s);
            },
          ] as const;
        }),
      );
      const deps = captureDeps(capture_);
      return capture(
        INBOUND_CAPTURE_LISTENER,
        port,
        "0.0.0.0",
        deps,
        inboundRoute(deps, {
          port: (p) => byPort.get(p),
          secured: security !== undefined,
          reserved: new Set([port, ...(capture_.reservedPorts ?? [])]),
        }),
      );
    },
    async listenGateway(port, host = "0.0.0.0", listener = OUTBOUND_HTTP_LISTENER) {
      requireRole("gateway", "gateway");
      return open("gateway", listener, options.snapshot, port, host);
    },
    async drain() {
      draining = true;
      for (const l of listeners) l.stopAccepting();
      for (const c of captures) c.stopAccepting();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
        });
      }
      for (const l of listeners) l.closeIdle();
    },
    close() {
      for (const l of listeners) l.destroy();
      for (const c of captures) c.destroy();
      watch.stop();
      clusters.close();
      return Promise.resolve();
    },
  };
}
