// A stand-in Kubernetes API server on loopback for unit tests of the failure paths: the handler
// decides each answer (a reset connection, a 500, a list, a watch stream), and a KubeConfig points
// real client-node clients at it. Integration tests use the real kube-apiserver.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LoopbackApiServer {
  readonly kc: KubeConfig;
  /** Requests seen, as "METHOD path?query". */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startLoopbackApiServer(handler: Handler): Promise<LoopbackApiServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method ?? ""} ${req.url ?? ""}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "loopback", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "test" }],
    contexts: [{ name: "loopback", cluster: "loopback", user: "test" }],
    currentContext: "loopback",
  });
  return {
    kc,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Ends the connection without an answer: the client sees ECONNRESET or "socket hang up". */
export function resetConnection(req: IncomingMessage): void {
  req.socket.destroy();
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Resolves once `cond` holds, checking every 5 ms; fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
