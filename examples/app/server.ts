// The demo application: a tiny HTTP server whose behaviour is its version, so a release shows
// in what it answers. Every version answers `version: <version>`; a version named like `*faulty*`
// also fails a share of requests with 500, and one named like `*slow*` delays a share of them.
// Image "vireo/demo-app:<version>" on the local cluster (the tag becomes --version).
//
//   node --import tsx examples/app/server.ts --version=v2
//   node --import tsx examples/app/server.ts --version=v3-faulty            # 30 % answer 500
//   node --import tsx examples/app/server.ts --version=v3-slow              # 20 % take 800 ms
//   node --import tsx examples/app/server.ts --version=v2 --error-percent=5 # any mix, any version
//   node --import tsx examples/app/server.ts --version=v2 --cold-requests=10 --cold-ms=1500
//     (a slow cold start: the first 10 requests each take 1.5 s more, as a new pod's JIT and
//     caches do; scripts/judge-trial.sh releases with it)
import http from "node:http";
import { parseArgs } from "node:util";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

const env = process.env;
const { values } = parseArgs({
  options: {
    version: { type: "string", default: env.APP_VERSION ?? "v1" },
    port: { type: "string", default: env.PORT ?? "9898" },
    host: { type: "string", default: env.HOST ?? "0.0.0.0" },
    "error-percent": { type: "string", default: env.ERROR_PERCENT },
    "delay-ms": { type: "string", default: env.DELAY_MS },
    "delay-percent": { type: "string", default: env.DELAY_PERCENT },
    "cold-requests": { type: "string", default: env.COLD_REQUESTS ?? "0" },
    "cold-ms": { type: "string", default: env.COLD_MS ?? "1500" },
    "shutdown-delay-ms": { type: "string", default: env.SHUTDOWN_DELAY_MS ?? "2000" },
  },
});

function number(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`demo-app: --${name}: "${value}" is not a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return n;
}

const version = values.version;
const faulty = version.includes("faulty");
const slow = version.includes("slow");
const errorPercent = number(
  "error-percent",
  values["error-percent"] ?? (faulty ? "30" : "0"),
  0,
  100,
);
const delayMs = number("delay-ms", values["delay-ms"] ?? (slow ? "800" : "0"), 0, 600_000);
const delayPercent = number(
  "delay-percent",
  values["delay-percent"] ?? (slow ? "20" : "0"),
  0,
  100,
);
const coldRequests = number("cold-requests", values["cold-requests"], 0, 1_000_000);
const coldMs = number("cold-ms", values["cold-ms"], 0, 600_000);
const shutdownDelayMs = number("shutdown-delay-ms", values["shutdown-delay-ms"], 0, 600_000);
const pod = env.POD_NAME ?? env.HOSTNAME ?? "local";

/**
 * Picks exactly `percent` % of calls, evenly spread (the nth call is picked when n·p/100 crosses
 * a whole number), so a 30 % failure rate is 30 % over any hundred requests, not on average.
 */
function share(percent: number): () => boolean {
  let n = 0;
  return () => {
    n += 1;
    return Math.floor((n * percent) / 100) > Math.floor(((n - 1) * percent) / 100);
  };
}
const shouldFail = share(errorPercent);
const shouldDelay = share(delayPercent);
let answered = 0;

const registry = new Registry();
registry.setDefaultLabels({ version });
collectDefaultMetrics({ register: registry });
const requests = new Counter({
  name: "demo_requests_total",
  help: "Requests answered, by status code.",
  labelNames: ["code"],
  registers: [registry],
});
const duration = new Histogram({
  name: "demo_request_duration_seconds",
  help: "Time to answer, including any injected delay.",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

function answer(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, {
    "content-type": "text/plain; charset=utf-8",
    "x-version": version,
    "x-pod": pod,
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  if (path === "/healthz") {
    answer(res, 200, "ok\n");
    return;
  }
  if (path === "/metrics") {
    registry
      .metrics()
      .then((text) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(text);
      })
      .catch((err: unknown) => {
        answer(res, 500, `${String(err)}\n`);
      });
    return;
  }
  const end = duration.startTimer();
  const fail = shouldFail();
  const reply = (): void => {
    const code = fail ? 500 : 200;
    answer(
      res,
      code,
      fail ? `error: injected failure (version ${version})\n` : `version: ${version}\n`,
    );
    requests.inc({ code: String(code) });
    end();
  };
  const cold = answered < coldRequests ? coldMs : 0;
  answered += 1;
  const wait = cold + (shouldDelay() ? delayMs : 0);
  if (wait > 0) setTimeout(reply, wait);
  else reply();
});

server.listen(Number(values.port), values.host, () => {
  process.stdout.write(
    `demo-app ${version} on ${values.host}:${values.port} as ${pod}` +
      ` (errors ${errorPercent} %, delay ${delayMs} ms on ${delayPercent} %,` +
      ` first ${coldRequests} requests ${coldMs} ms slower)\n`,
  );
});

// Keep answering for a moment after SIGTERM: proxies stop sending here only once the endpoint
// removal has reached them, and requests already routed here should still succeed.
let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`${signal}: stopping in ${shutdownDelayMs} ms\n`);
  setTimeout(() => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  }, shutdownDelayMs).unref();
};
process.on("SIGTERM", () => {
  stop("SIGTERM");
});
process.on("SIGINT", () => {
  stop("SIGINT");
});
