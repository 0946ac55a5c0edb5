// TCP relays from the pod bridge's gateway address to services the host runs on loopback (the
// API server, Prometheus), so pods reach them without those services listening beyond loopback.
import net from "node:net";

export interface RelaySpec {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
}

/** `443=127.0.0.1:16443` on gateway `10.244.0.1`. */
export function parseRelay(spec: string, listenHost: string): RelaySpec {
  const m = /^(\d+)=([^:]+):(\d+)$/.exec(spec);
  if (m === null) throw new Error(`bad relay "${spec}", expected PORT=HOST:PORT`);
  return { listenHost, listenPort: Number(m[1]), targetHost: m[2] ?? "", targetPort: Number(m[3]) };
}

/** Keepalive probes find a peer that vanished without a FIN or RST (a deleted pod's namespace). */
const KEEPALIVE_MS = 30_000;
/** How long the survivor may take to flush what it still holds once the other side closed. */
const DRAIN_MS = 5_000;

/**
 * Joins two sockets. Either side ending half-closes the other (pipe), and once either side is
 * closed for good, or fails, the other is flushed and destroyed: a relay never holds a socket
 * whose partner is gone (a socket left open that way stays in the kernel's CLOSE state with its
 * file descriptor held, which is how the agent once ran out of descriptors).
 */
export function splice(a: net.Socket, b: net.Socket): void {
  for (const s of [a, b]) s.setKeepAlive(true, KEEPALIVE_MS);
  const finish = (survivor: net.Socket): void => {
    if (survivor.destroyed) return;
    if (survivor.writableLength === 0) {
      survivor.destroy();
      return;
    }
    const timer = setTimeout(() => survivor.destroy(), DRAIN_MS);
    timer.unref();
    survivor.end(() => {
      clearTimeout(timer);
      survivor.destroy();
    });
  };
  a.on("close", () => {
    finish(b);
  });
  b.on("close", () => {
    finish(a);
  });
  // An error is followed by 'close' on the same socket; the listener keeps it from being thrown.
  a.on("error", () => undefined);
  b.on("error", () => undefined);
  a.pipe(b);
  b.pipe(a);
}

export function startRelay(spec: RelaySpec): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    splice(inbound, net.connect(spec.targetPort, spec.targetHost));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(spec.listenPort, spec.listenHost, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
