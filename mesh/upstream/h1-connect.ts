// New HTTP/1.1 upstream connections, made for undici's Client: TCP, or the cluster's mutual TLS
// with the certificate of the moment (so a rotation reaches every connection made after it, and
// open ones keep theirs), given up after the cluster's connect timeout on the injected clock.
import net from "node:net";
import tls from "node:tls";
import type { buildConnector } from "undici";
import type { Clock } from "../../src/common/clock.js";
import type { SecureTarget } from "./tls-connect.js";
import { tlsOptions } from "./tls-connect.js";

/** TCP keep-alive probes after this long idle: node's Agent default, which the pool had. */
const KEEPALIVE_PROBE_MS = 1_000;

export function upstreamConnector(
  clock: Clock,
  connectTimeoutMs: () => number,
  secure: SecureTarget | undefined,
): buildConnector.connector {
  return ({ hostname, port }, callback) => {
    let socket: net.Socket;
    if (secure === undefined) {
      socket = net.connect({ host: hostname, port: Number(port) });
    } else {
      const target = secure();
      if (target instanceof Error) {
        callback(target, null);
        return;
      }
      socket = tls.connect({
        ...tlsOptions(target, ["http/1.1"]),
        host: hostname,
        port: Number(port),
      });
    }
    const timer = clock.setTimer(connectTimeoutMs(), () => {
      socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    });
    const failed = (err: Error): void => {
      timer.cancel();
      callback(err, null);
    };
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_PROBE_MS);
    socket.once("error", failed);
    socket.once(secure === undefined ? "connect" : "secureConnect", () => {
      timer.cancel();
      // From here on the socket's errors are undici's, which listens before this returns.
      socket.off("error", failed);
      callback(null, socket);
    });
  };
}
