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
import type { Handler } from "./filters/pipeline.js";
import { chain } from "./filters/pipeline.js";
import { rbacFilter } from "./filters/rbac-filter.js";
import type { Direction, RequestDoneHook } from "./filters/request-record.js";
import { RecordBuilder } from "./filters/request-record.js";
import { routeStep } from "./filters/route-filter.js";
import { routerHandler } from "./filters/router-filter.js";
import type { ListenerLimits } from "./listeners/http-listener.js";
import { DEFAULT_LIMITS, HttpListener } from "./listeners/http-listener.js";
import { INBOUND_LISTENER, inboundClusterName, inboundSnapshot } from "./listeners/inbound.js";
import type { Accept } from "./listeners/inbound-guard.js";
import { inboundGuard } from "./listeners/inbound-guard.js";
import type { NodeRequest, NodeResponse } from "./listeners/serve.js";
import { serve } from "./listeners/serve.js";
import { expandServiceName } from "./routing/authority.js";
import type { RoutingSnapshot } from "./routing/model.js";
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
  readonly security?: {
    readonly material: TlsMaterialSource;
    readonly handshakeTimeoutMs?: number;
  };
}

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
    [faultFilter({ clock, random }), mirrorFilter({ clock, random, log })],
    routerHandler({ clock, random }),
  );
  const listeners: HttpListener[] = [];
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

  async function open(
    direction: Direction,
    name: string,
    snapshot: () => RoutingSnapshot,
    port: number,
    host: string,
    guard?: { readonly accept: Accept; readonly filter: (next: Handler) => Handler },
  ): Promise<BoundListener> {
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
    const address = await listener.listen(port, host);
    listeners.push(listener);
    log.info("listening", {
      listener: name,
      direction,
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
      // Named after the port bound, which port 0 leaves to the system.
      let local = EMPTY_SNAPSHOT;
      // Named after the address bound, known once bound; nothing connects before that.
      let policyName = "";
      const guard =
        security === undefined
          ? undefined
          : inboundGuard({
              listener: () => policyName,
              snapshot: options.snapshot,
              material: security.material,
              clock,
              log,
              handshakeTimeoutMs: security.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
            });
      const bound = await open(
        "inbound",
        INBOUND_LISTENER,
        () => local,
        port,
        podIP,
        guard && { accept: guard.accept, filter: rbacFilter(guard.config) },
      );
      policyName = inboundListenerName(podIP, bound.port);
      clusters.pin(inboundClusterName(bound.port));
      local = inboundSnapshot(bound.port, targetPort);
      return bound;
    },
    async listenGateway(port, host = "0.0.0.0", listener = OUTBOUND_HTTP_LISTENER) {
      requireRole("gateway", "gateway");
      return open("gateway", listener, options.snapshot, port, host);
    },
    async drain() {
      draining = true;
      for (const l of listeners) l.stopAccepting();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
        });
      }
      for (const l of listeners) l.closeIdle();
    },
    close() {
      for (const l of listeners) l.destroy();
      clusters.close();
      return Promise.resolve();
    },
  };
}
