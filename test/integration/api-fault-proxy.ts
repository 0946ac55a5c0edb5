// A fault injector in front of the local cluster's real kube-apiserver: clients get a KubeConfig
// that points at this plain-HTTP proxy on loopback; it forwards each request over TLS with the
// cluster's admin credentials, unless the test's `fault` decides otherwise for that request (a
// reset connection, an error status). The API server answering everything else is the real one.
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { RequestOptions } from "node:https";
import { request } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { cluster } from "./harness.js";

/** What happens to one request instead of forwarding it. */
export type Fault =
  /** End the connection without an answer: the client sees ECONNRESET or "socket hang up". */
  | { readonly kind: "reset" }
  /** Never answer (a frozen API server, a half-open connection); the socket stays open. */
  | { readonly kind: "hang" }
  /** Answer with this status and a Kubernetes Status body, as an API server in trouble does. */
  | { readonly kind: "status"; readonly code: number; readonly message: string };

/** One request the proxy saw, and its body when it had one (PUT, POST, PATCH). */
export interface SeenRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly body: string;
}

export interface ApiFaultProxy {
  /** For clients that should go through the proxy. */
  readonly kc: KubeConfig;
  readonly requests: SeenRequest[];
  /**
   * Decides each request's fate; undefined forwards it. `n` counts the requests so far, this one
   * included. May be async, e.g. to change the real object before a write is forwarded.
   */
  fault: (req: SeenRequest, n: number) => Fault | undefined | Promise<Fault | undefined>;
  close(): Promise<void>;
}

/** "METHOD path?query" of each request, for exact assertions. */
export function lines(p: ApiFaultProxy): string[] {
  return p.requests.map((r) => `${r.method} ${r.url}`);
}

/** Whether a request is a watch (a long-lived stream) rather than a list. */
export function isWatch(r: SeenRequest): boolean {
  return /[?&]watch=(true|1)/.test(r.url);
}

const HOP_BY_HOP = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade"]);

/** `real` is the local cluster's unless a test says otherwise. */
export async function startApiFaultProxy(real: KubeConfig = cluster().kc): Promise<ApiFaultProxy> {
  const target = real.getCurrentCluster();
  if (target === null) throw new Error("the local cluster's kubeconfig names no cluster");
  const upstream = new URL(target.server);
  const tls: RequestOptions = {};
  await real.applyToHTTPSOptions(tls);

  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const proxy: ApiFaultProxy = {
    kc: new KubeConfig(),
    requests,
    fault: () => undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    // The credentials' own headers (a bearer token), then the client's.
    const headers: OutgoingHttpHeaders = {};
    const auth: unknown = tls.headers;
    if (auth !== undefined && !Array.isArray(auth)) Object.assign(headers, auth);
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    }
    const up = request(
      {
        ...tls,
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // Watches stream: pass each chunk on as it comes.
        answer.pipe(res);
      },
    );
    up.on("error", () => {
      req.socket.destroy();
    });
    // A client that goes away (an informer stopping its watch) ends the upstream request too.
    res.on("close", () => {
      up.destroy();
    });
    up.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        body: body.toString(),
      };
      requests.push(seen);
      void Promise.resolve(proxy.fault(seen, requests.length)).then(
        (f) => {
          if (f === undefined) {
            forward(req, res, body);
          } else if (f.kind === "reset") {
            req.socket.destroy();
          } else if (f.kind === "hang") {
            // No answer: the client waits until it gives up; close() ends the socket.
          } else {
            res.writeHead(f.code, { "content-type": "application/json" });
            res.end(
              JSON.stringify({
                kind: "Status",
                apiVersion: "v1",
                status: "Failure",
                message: f.message,
                code: f.code,
              }),
            );
          }
        },
        () => {
          req.socket.destroy();
        },
      );
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  proxy.kc.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is declared off; there is no TLS here.
    clusters: [
      { name: "fault-proxy", server: `http://127.0.0.1:${String(port)}`, skipTLSVerify: true },
    ],
    users: [{ name: "through-proxy" }],
    contexts: [{ name: "fault-proxy", cluster: "fault-proxy", user: "through-proxy" }],
    currentContext: "fault-proxy",
  });
  return proxy;
}

/** A fresh fault proxy for each test of the calling suite, closed after it; get it in a test. */
export function useApiFaultProxy(): () => ApiFaultProxy {
  let proxy: ApiFaultProxy | undefined;
  beforeEach(async () => {
    proxy = await startApiFaultProxy();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  return () => {
    if (proxy === undefined) throw new Error("no fault proxy outside a test");
    return proxy;
  };
}
