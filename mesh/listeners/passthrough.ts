// A TCP proxy for captured connections the mesh does not route (Istio's PassthroughCluster):
// connect to the original destination, replay the bytes already read, then copy both ways.
// Half-close is forwarded (one side's FIN ends the other's writing side, so a graceful close
// flushes and closes both in turn); an error on either side, or a close after one, destroys both.
// The downstream socket must allow half-open connections (its server's `allowHalfOpen`).
import net from "node:net";
import type { Socket } from "node:net";
import type { OriginalDestination } from "./orig-dst.js";

export interface PassthroughOptions {
  readonly connectTimeoutMs: number;
  /** Called once the upstream connection is up (metrics). */
  readonly onOpen?: () => void;
  /** Called when the upstream could not be reached. */
  readonly onFail?: (err: Error) => void;
}

export function passthrough(
  downstream: Socket,
  seen: Buffer,
  to: OriginalDestination,
  options: PassthroughOptions,
): void {
  const upstream = net.connect({ host: to.address, port: to.port, allowHalfOpen: true });
  const both = (): void => {
    downstream.destroy();
    upstream.destroy();
  };
  upstream.setTimeout(options.connectTimeoutMs, () => {
    options.onFail?.(new Error(`connect to ${to.address}:${String(to.port)} timed out`));
    both();
  });
  downstream.pause();
  downstream.on("error", both);
  const onClose = (hadError: boolean): void => {
    if (hadError) both();
  };
  downstream.once("close", onClose);
  upstream.once("error", (err) => {
    options.onFail?.(err);
    both();
  });
  upstream.once("close", onClose);
  upstream.once("connect", () => {
    upstream.setTimeout(0);
    options.onOpen?.();
    if (seen.length > 0) upstream.write(seen);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.resume();
  });
}
