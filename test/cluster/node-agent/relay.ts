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

export function startRelay(spec: RelaySpec): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(spec.targetPort, spec.targetHost);
    inbound.pipe(outbound).pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close);
    outbound.on("error", close);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(spec.listenPort, spec.listenHost, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
