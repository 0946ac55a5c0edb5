// The listeners iptables redirects to (the capture step, mesh/capture). Each reads the
// connection's original destination (orig-dst.ts) in the `connection` handler, while the fd is
// still there, and decides where the connection goes:
// - outbound (127.0.0.1:15001): not redirected → the explicit HTTP proxy as before; redirected →
//   sniff the first bytes: HTTP/1.x whose Host names a mesh virtual host, and h2c (gRPC), go to the
//   mesh request path; anything else passes through to the original destination as TCP.
// - inbound (0.0.0.0:15006): the original port P picks the per-port HTTP listener (with its
//   inbound security); an unlisted P is refused under mesh security, else passed through to
//   127.0.0.1:P.
import net from "node:net";
import type { Socket } from "node:net";
import type { Clock } from "../../src/common/clock.js";
import { describeError } from "../../src/common/errors.js";
import type { Logger } from "../../src/common/logger.js";
import type { Detected } from "./detect.js";
import { detectProtocol } from "./detect.js";
import type { OriginalDestination, OriginalDestinationReader } from "./orig-dst.js";
import { originalDestination } from "./orig-dst.js";
import { passthrough } from "./passthrough.js";

/**
 * Time a redirected connection has to send its first bytes before it is taken for a server-first
 * protocol (MySQL, SMTP, Postgres after SSLRequest…) and passed through. Client-first protocols
 * speak within one in-pod round trip, far below it; a server-first one pays it once per
 * connection. Istio's default is 0 (wait for ever: server-first ports hang unless declared).
 */
export const DEFAULT_DETECTION_TIMEOUT_MS = 1_000;
const PASSTHROUGH_CONNECT_TIMEOUT_MS = 10_000;

export type PassthroughReason = "not_http" | "unknown_host" | "no_bytes" | "unlisted_port";

export interface CaptureListenerDeps {
  readonly reader: OriginalDestinationReader;
  readonly clock: Clock;
  readonly log: Logger;
  readonly detectionTimeoutMs: number;
  /** A TCP connection passed through (metrics). */
  readonly onPassthrough?: (direction: "outbound" | "inbound", reason: PassthroughReason) => void;
}

/** A listening capture port; `take` handlers are plain functions from socket to its fate. */
export class CaptureListener {
  private readonly server: net.Server;
  private readonly open = new Set<Socket>();

  constructor(
    private readonly deps: CaptureListenerDeps,
    private readonly route: (socket: Socket, dst: OriginalDestination | undefined) => void,
  ) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.open.add(socket);
      socket.once("close", () => this.open.delete(socket));
      let dst: OriginalDestination | undefined;
      try {
        dst = originalDestination(deps.reader, socket);
      } catch (err) {
        deps.log.warn("original destination unreadable: connection closed", {
          error: describeError(err),
        });
        socket.destroy();
        return;
      }
      this.route(socket, dst);
    });
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  destroy(): void {
    this.stopAccepting();
    for (const s of this.open) s.destroy();
  }
}

/**
 * Reads until `detectProtocol` can tell, the detection timeout passes (`undefined`: no bytes, or
 * too few to tell), or the client goes; then hands over the bytes read, not yet unshifted.
 */
export function sniff(
  socket: Socket,
  clock: Clock,
  timeoutMs: number,
  done: (verdict: Detected | undefined, seen: Buffer) => void,
): void {
  let seen: Buffer = Buffer.alloc(0);
  const finish = (verdict: Detected | undefined): void => {
    timer.cancel();
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("end", onEnd);
    socket.pause();
    done(verdict, seen);
  };
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const verdict = detectProtocol(seen);
    if (verdict !== undefined) finish(verdict);
  };
  const onError = (): void => {
    timer.cancel();
    socket.destroy();
  };
  // A client that half-closes before we can tell: what it sent is all there is; pass it on.
  const onEnd = (): void => {
    finish({ protocol: "other" });
  };
  const timer = clock.setTimer(timeoutMs, () => {
    finish(undefined);
  });
  socket.on("data", onData);
  socket.on("error", onError);
  socket.once("end", onEnd);
}

export interface OutboundCaptureRoutes {
  /** The explicit proxy / mesh HTTP path. */
  readonly http: (socket: Socket) => void;
  /** Whether the mesh routes this authority (a virtual host matches); else it passes through. */
  readonly routes: (authority: string) => boolean;
}

export function outboundRoute(
  deps: CaptureListenerDeps,
  to: OutboundCaptureRoutes,
): (socket: Socket, dst: OriginalDestination | undefined) => void {
  const through = (
    socket: Socket,
    seen: Buffer,
    dst: OriginalDestination,
    why: PassthroughReason,
  ) => {
    deps.onPassthrough?.("outbound", why);
    passthrough(socket, seen, dst, {
      connectTimeoutMs: PASSTHROUGH_CONNECT_TIMEOUT_MS,
      onFail: (err) => {
        deps.log.debug("passthrough failed", {
          to: `${dst.address}:${String(dst.port)}`,
          error: err.message,
        });
      },
    });
  };
  return (socket, dst) => {
    if (dst === undefined) {
      to.http(socket);
      return;
    }
    sniff(socket, deps.clock, deps.detectionTimeoutMs, (verdict, seen) => {
      if (verdict === undefined) {
        through(socket, seen, dst, "no_bytes");
        return;
      }
      const meshed =
        verdict.protocol === "h2" ||
        (verdict.protocol === "h1" && verdict.host !== undefined && to.routes(verdict.host));
      if (!meshed) {
        through(socket, seen, dst, verdict.protocol === "h1" ? "unknown_host" : "not_http");
        return;
      }
      socket.unshift(seen);
      to.http(socket);
      process.nextTick(() => socket.resume());
    });
  };
}

export interface InboundCaptureRoutes {
  /** The HTTP listener (with its security stage) serving original port P, if P is listed. */
  readonly port: (port: number) => ((socket: Socket) => void) | undefined;
  /** Mesh security on: an unlisted port is refused instead of passed through in plaintext. */
  readonly secured: boolean;
  /**
   * The proxy's own loopback ports (admin, capture): never passed through, or the admin port
   * bound to 127.0.0.1 would be reachable from outside the pod through the passthrough.
   */
  readonly reserved: ReadonlySet<number>;
}

export function inboundRoute(
  deps: CaptureListenerDeps,
  to: InboundCaptureRoutes,
): (socket: Socket, dst: OriginalDestination | undefined) => void {
  return (socket, dst) => {
    if (dst === undefined) {
      // Dialled 15006 itself: no app port to serve.
      socket.destroy();
      return;
    }
    const listed = to.port(dst.port);
    if (listed !== undefined) {
      listed(socket);
      return;
    }
    if (to.secured || to.reserved.has(dst.port)) {
      deps.log.debug("inbound connection to an unlisted port refused", { port: dst.port });
      socket.destroy();
      return;
    }
    deps.onPassthrough?.("inbound", "unlisted_port");
    passthrough(
      socket,
      Buffer.alloc(0),
      { address: "127.0.0.1", port: dst.port },
      {
        connectTimeoutMs: PASSTHROUGH_CONNECT_TIMEOUT_MS,
      },
    );
  };
}
