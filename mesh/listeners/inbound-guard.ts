// The inbound port's connection stage under mesh security: the first byte says TLS (0x16, a
// handshake record) or plaintext, the listener's filter chains say whether that is accepted
// (STRICT: TLS only; PERMISSIVE: both; DISABLE: plaintext only), TLS is terminated with the
// proxy's own certificate and the peer's verified against the trust bundle. What was learnt
// (mutual TLS, the peer's SPIFFE URI) is attached to the socket for the request path.
import type { Socket } from "node:net";
import tls from "node:tls";
import type { Clock } from "../../src/common/clock.js";
import type { Logger } from "../../src/common/logger.js";
import type { RoutingSnapshot } from "../routing/model.js";
import type { ChainTransport, InboundListenerConfig } from "../routing/security-model.js";
import { selectChain } from "../routing/security-model.js";
import type { TlsMaterialSource } from "../tls/material.js";
import { uriSans } from "../tls/peer.js";

const TLS_HANDSHAKE = 0x16;
const SECURITY = Symbol.for("vireo.connection-security");

/** What the request path knows of a downstream connection. */
export interface ConnectionSecurity {
  /** The transport the connection's filter chain matched on. */
  readonly transport: Exclude<ChainTransport, "either">;
  readonly mutualTls: boolean;
  /** The client certificate's first URI SAN (mutual TLS only). */
  readonly peerPrincipal?: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;
}

/** The security a connection was accepted with; undefined on listeners without security. */
export function connectionSecurity(socket: unknown): ConnectionSecurity | undefined {
  if (socket === null || typeof socket !== "object") return undefined;
  const v = (socket as Record<symbol, unknown>)[SECURITY];
  return v === undefined ? undefined : (v as ConnectionSecurity);
}

function mark(socket: object, security: ConnectionSecurity): void {
  Object.defineProperty(socket, SECURITY, { value: security, enumerable: false });
}

export interface InboundGuardDeps {
  /** `vireo/inbound?address=<ip>:<port>`. */
  readonly listener: () => string;
  readonly snapshot: () => RoutingSnapshot;
  readonly material: TlsMaterialSource;
  readonly clock: Clock;
  readonly log: Logger;
  /** Time for the first byte and the handshake. */
  readonly handshakeTimeoutMs: number;
}

function peerKey(s: Socket): string {
  return `${s.remoteAddress ?? ""}|${String(s.remotePort ?? 0)}`;
}

export type Accept = (socket: Socket, proceed: (s: Socket) => void) => void;

/**
 * Until the listener has arrived once, connections are refused (closed): the port never serves
 * without the policy the control plane set. After that, the last one received stays in force.
 */
export function inboundGuard(deps: InboundGuardDeps): {
  accept: Accept;
  config: () => InboundListenerConfig | undefined;
} {
  let last: InboundListenerConfig | undefined;
  /** Connections in their handshake, by peer address and port, and where each goes next. */
  const pending = new Map<string, (s: Socket) => void>();
  // node verifies client certificates (and refuses unverified ones) only for a tls.Server's own
  // sockets, so TLS is handed to one: per client-certificate requirement, its context swapped
  // whenever the certificate or the trust bundle changes.
  const servers = new Map<boolean, { server: tls.Server; options: tls.SecureContextOptions }>();
  const terminator = (requireCert: boolean, options: tls.SecureContextOptions): tls.Server => {
    const held = servers.get(requireCert);
    if (held !== undefined) {
      if (held.options !== options) {
        held.server.setSecureContext(options);
        held.options = options;
      }
      return held.server;
    }
    const server = tls.createServer({
      ...options,
      requestCert: true,
      rejectUnauthorized: requireCert,
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: deps.handshakeTimeoutMs,
    });
    server.on("tlsClientError", (err: Error, s: tls.TLSSocket) => {
      deps.log.debug("inbound TLS handshake failed", {
        listener: deps.listener(),
        error: err.message,
      });
      s.destroy();
    });
    server.on("secureConnection", (secure: tls.TLSSocket) => {
      const peer = secure.getPeerCertificate();
      const verified = secure.authorized && Object.keys(peer).length > 0;
      if (requireCert && !verified) {
        secure.destroy();
        return;
      }
      const key = peerKey(secure);
      const proceed = pending.get(key);
      pending.delete(key);
      if (proceed === undefined) {
        secure.destroy();
        return;
      }
      const principal = verified ? uriSans(peer.subjectaltname)[0] : undefined;
      mark(secure, {
        transport: "tls",
        mutualTls: verified,
        ...(principal !== undefined && { peerPrincipal: principal }),
        remoteAddress: secure.remoteAddress ?? "",
        localAddress: secure.localAddress ?? "",
        localPort: secure.localPort ?? 0,
      });
      proceed(secure);
    });
    servers.set(requireCert, { server, options });
    return server;
  };
  const config = (): InboundListenerConfig | undefined => {
    const now = deps.snapshot().inbound?.get(deps.listener());
    if (now !== undefined) last = now;
    return last;
  };
  const accept: Accept = (socket, proceed) => {
    const timer = deps.clock.setTimer(deps.handshakeTimeoutMs, () => {
      socket.destroy();
    });
    const onError = (): void => {
      timer.cancel();
      socket.destroy();
    };
    socket.on("error", onError);
    socket.once("close", () => {
      timer.cancel();
    });
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const isTls = first[0] === TLS_HANDSHAKE;
      const chain = selectChain(config()?.chains ?? [], isTls);
      const base = {
        remoteAddress: socket.remoteAddress ?? "",
        localAddress: socket.localAddress ?? "",
        localPort: socket.localPort ?? 0,
      };
      if (chain === undefined) {
        timer.cancel();
        deps.log.debug("inbound connection refused: no filter chain", {
          listener: deps.listener(),
          tls: isTls,
        });
        socket.destroy();
        return;
      }
      if (chain.tls === undefined) {
        // A plaintext `any` chain takes even a handshake as it is: a malformed request (Envoy).
        timer.cancel();
        // The HTTP stage handles this socket's errors from here on.
        socket.off("error", onError);
        mark(socket, { transport: isTls ? "tls" : "raw_buffer", mutualTls: false, ...base });
        proceed(socket);
        socket.resume();
        return;
      }
      const options = deps.material.contextOptions(chain.tls.validationSecret);
      if (options === undefined) {
        timer.cancel();
        deps.log.warn("inbound TLS refused: no certificate or trust bundle yet", {
          listener: deps.listener(),
        });
        socket.destroy();
        return;
      }
      timer.cancel();
      const key = peerKey(socket);
      pending.set(key, proceed);
      socket.once("close", () => pending.delete(key));
      terminator(chain.tls.requireClientCertificate, options).emit("connection", socket);
    });
  };
  return { accept, config };
}
