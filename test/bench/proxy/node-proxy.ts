// The floor of any proxy built on node:http: a bare reverse proxy (one keep-alive agent, headers
// copied, bodies piped, nothing else). It shows how much of vireo's cost is node's HTTP stack and
// how much is vireo's own. run.ts transpiles this file to plain JavaScript so that it runs without
// tsx's loader, like vireo's compiled proxy.
//   node node-proxy.js <listen port> <upstream port>
import http from "node:http";

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });

const server = http.createServer((req, res) => {
  const up = http.request(
    {
      host: "127.0.0.1",
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 120_000;
server.listen(listenPort, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
