// The demo's alert receiver: an HTTP endpoint the webhook AlertProvider posts to. Each POST is
// printed as one JSON line and kept; GET returns everything received so far as a JSON array, so
// `make demo` can show the notifications at the end. Runs on the host, not in a pod: the pods'
// gateway address 10.244.0.1 is the one address of it that the local cluster's pods (and a
// controller on the host network) can reach without DNS.
//
//   node --import tsx examples/receiver/receiver.ts --port 18090
import http from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: process.env.HOST ?? "0.0.0.0" },
    port: { type: "string", default: process.env.PORT ?? "18090" },
  },
});

interface Received {
  readonly time: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
}

const received: Received[] = [];

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(received, null, 2)}\n`);
    return;
  }
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "GET, POST" }).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const entry: Received = {
      time: new Date().toISOString(),
      path: req.url ?? "/",
      headers: req.headers, // a signature header, if the provider signs, is among them
      body: parse(Buffer.concat(chunks).toString("utf8")),
    };
    received.push(entry);
    process.stdout.write(`${JSON.stringify(entry)}\n`);
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  });
});

server.listen(Number(values.port), values.host, () => {
  process.stderr.write(`receiver: listening on ${values.host}:${values.port}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
});
process.on("SIGINT", () => {
  server.close(() => process.exit(0));
});
