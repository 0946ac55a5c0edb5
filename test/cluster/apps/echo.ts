// A small HTTP app for the local cluster's tests: answers with who it is, exposes Prometheus
// metrics, and can be told to crash, to fail a share of requests or to answer slowly. Image
// "vireo/echo" in test/cluster/images.json.
import http from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8080" },
    version: { type: "string", default: "latest" },
    "exit-after-ms": { type: "string" },
    "exit-code": { type: "string", default: "1" },
    /** Share of requests answered 500, 0-100: a faulty version for rollback tests. */
    "fail-percent": { type: "string", default: "0" },
    /** Milliseconds every answer waits before it is sent: a slow version for latency checks. */
    "delay-ms": { type: "string", default: "0" },
  },
});

const pod = process.env.POD_NAME ?? process.env.HOSTNAME ?? "unknown";
const podIP = process.env.POD_IP ?? "";
const counts = new Map<string, number>();
const failPercent = Number(values["fail-percent"]);
const delayMs = Number(values["delay-ms"]);

const server = http.createServer((req, res) => {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const failing = path !== "/metrics" && path !== "/healthz" && Math.random() * 100 < failPercent;
  const code = path === "/status/500" || failing ? 500 : 200;
  counts.set(String(code), (counts.get(String(code)) ?? 0) + 1);
  if (path === "/metrics") {
    const lines = [
      "# HELP echo_requests_total Requests served.",
      "# TYPE echo_requests_total counter",
    ];
    for (const [c, n] of counts) lines.push(`echo_requests_total{code="${c}"} ${n}`);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(`${lines.join("\n")}\n`);
    return;
  }
  const answer = (): void => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(`${JSON.stringify({ pod, podIP, version: values.version, path })}\n`);
  };
  if (delayMs > 0 && path !== "/healthz") setTimeout(answer, delayMs);
  else answer();
});

server.listen(Number(values.port), () => {
  process.stdout.write(`echo ${values.version} listening on :${values.port} as ${pod}\n`);
});

const exitAfter = values["exit-after-ms"];
if (exitAfter !== undefined) {
  setTimeout(() => {
    process.stdout.write(`exiting with ${values["exit-code"]} as asked\n`);
    process.exit(Number(values["exit-code"]));
  }, Number(exitAfter));
}

process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
