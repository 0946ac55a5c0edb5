// The floor of a proxy whose upstream HTTP/1.1 goes through undici (issue 14): node-proxy.ts's
// node:http server, but each request forwarded with undici's Pool.dispatch and handler callbacks
// in undici's callback form (no promise, no stream object per request), the response written back as it arrives. run.ts
// transpiles it to plain JavaScript and points the "undici" import at the project's copy.
//   node undici-proxy.js <listen port> <upstream port>
import http from "node:http";
import type { Dispatcher } from "undici";
import { Pool } from "undici";

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${String(upstreamPort)}`, {
  connections: 256,
  keepAliveTimeout: 4_000,
});

/** Hop-by-hop headers: undici refuses most of them, and a proxy must not forward them. */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    if (!HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1] ?? "");
  }
  const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"];
  // undici's handler API (not the deprecated onConnect … onComplete it still runs on): its
  // presence is told by onRequestStart, so that one must exist even when it has nothing to do.
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {
      // A bare floor: the client going away is not watched (node-proxy.ts does not either).
    },
    onResponseStart(controller, status, upHeaders) {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upHeaders)) {
        if (!HOP.has(k) && v !== undefined) out[k] = v;
      }
      res.writeHead(status, out);
      res.on("drain", () => {
        controller.resume();
      });
    },
    onResponseData(controller, chunk) {
      if (!res.write(chunk)) controller.pause();
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  };
  pool.dispatch(
    {
      method: req.method as Dispatcher.HttpMethod,
      path: req.url ?? "/",
      headers,
      body: hasBody ? req : null,
    },
    handler,
  );
}

const server = http.createServer(forward);
server.keepAliveTimeout = 120_000;
server.listen(listenPort, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void pool.destroy();
});
