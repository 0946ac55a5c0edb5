// The analysis runner against a real Prometheus scraping proxy-like metrics: built-in checks,
// thresholds, no data, minimum request counts, checks relative to the primary, MetricTemplates
// (also behind an authenticating proxy), rollout webhooks, and the overall outcome.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { successRateQuery } from "../../../src/analysis/builtin.js";
import type { CheckReport } from "../../../src/analysis/judge.js";
import type {
  MetricTemplate,
  TemplateRef,
  TemplateResolution,
} from "../../../src/analysis/metric-template.js";
import { PrometheusClient } from "../../../src/analysis/prometheus.js";
import type { AnalysisInput } from "../../../src/analysis/runner.js";
import { MetricAnalysisRunner } from "../../../src/analysis/runner.js";
import { HttpWebhookRunner } from "../../../src/analysis/webhooks.js";
import { createLogger } from "../../../src/common/logger.js";
import type { AnalysisSpec, MetricCheck } from "../../../src/domain/rollout.js";
import { startMeshMetrics } from "../../support/mesh-metrics.js";
import type { MeshMetrics } from "../../support/mesh-metrics.js";
import { freePort, startPrometheus } from "../../support/prometheus.js";
import type { PrometheusServer } from "../../support/prometheus.js";

const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

/** Percentage of 4xx responses, with the codes as a variable. */
const CLIENT_ERRORS = [
  `100 * sum(rate(vireo_requests_total{reporter="destination",`,
  `destination_workload_namespace="{{ namespace }}",destination_workload="{{target}}",`,
  `response_code=~"{{ variables.codes }}"}[{{ interval }}]))`,
  ` / sum(rate(vireo_requests_total{reporter="destination",`,
  `destination_workload_namespace="{{ namespace }}",destination_workload="{{ target }}"}[{{ interval }}]))`,
].join("");

const successRate = (over: Partial<MetricCheck> = {}): MetricCheck => ({
  name: "request-success-rate",
  ...over,
});
const duration = (over: Partial<MetricCheck> = {}): MetricCheck => ({
  name: "request-duration",
  ...over,
});

/** A server recording what it receives; `answer` picks the status by path. */
async function listen(
  handler: http.RequestListener,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => {
          r();
        });
        server.closeAllConnections();
      }),
  };
}

describe("MetricAnalysisRunner", function () {
  this.timeout(30_000);
  let mesh: MeshMetrics;
  let prom: PrometheusServer;
  let runner: MetricAnalysisRunner;
  const closers: (() => Promise<void>)[] = [];
  const resolved: TemplateRef[] = [];
  const templates = new Map<string, TemplateResolution>();

  const template = (name: string, over: Partial<MetricTemplate> = {}): MetricTemplate => ({
    namespace: "demo",
    name,
    provider: { type: "prometheus", address: prom.url, insecureSkipVerify: false },
    query: CLIENT_ERRORS,
    ...over,
  });

  const resolveTemplate = (ref: TemplateRef): Promise<TemplateResolution> => {
    resolved.push(ref);
    const found = templates.get(`${ref.namespace}/${ref.name}`);
    return Promise.resolve(
      found ?? { ok: false, message: `MetricTemplate ${ref.namespace}/${ref.name} not found` },
    );
  };

  const input = (spec: Partial<AnalysisSpec>, over: Partial<AnalysisInput> = {}) => ({
    namespace: "demo",
    rolloutName: "podinfo",
    targetName: "podinfo",
    primaryName: "podinfo-primary",
    service: "podinfo",
    spec: { intervalMs: 10_000, threshold: 3, metrics: [], webhooks: [], ...spec },
    windowMs: 10_000,
    now: Date.now(),
    phase: "Progressing",
    revision: "abc123",
    resolveTemplate,
    ...over,
  });

  const run = async (spec: Partial<AnalysisSpec>, over: Partial<AnalysisInput> = {}) =>
    runner.run(input(spec, over));

  /** The checks without their queries (asserted separately), values rounded to 1e-6. */
  const summary = (checks: readonly CheckReport[]) =>
    checks.map((c) => {
      const { min, max } = c.threshold;
      const out: Record<string, unknown> = {
        ...c,
        threshold: {
          ...(min === undefined ? {} : { min: round(min) }),
          ...(max === undefined ? {} : { max: round(max) }),
        },
      };
      if (c.value !== undefined) out.value = round(c.value);
      if (c.primaryValue !== undefined) out.primaryValue = round(c.primaryValue);
      delete out.query;
      return out;
    });

  before(async () => {
    mesh = await startMeshMetrics([
      // 98 % non-5xx (the 404s count as successes); p99 = 250 + 0.9 × (500 - 250) = 475 ms.
      {
        namespace: "demo",
        workload: "podinfo",
        rps: 20,
        codes: { "503": 0.02, "404": 0.05 },
        latency: [
          [50, 0.9],
          [500, 0.1],
        ],
      },
      // 99.5 % non-5xx; p99 = 50 + 0.99 × 50 = 99.5 ms.
      {
        namespace: "demo",
        workload: "podinfo-primary",
        rps: 20,
        codes: { "503": 0.005, "404": 0.01 },
        latency: [[100, 1]],
      },
      // What the checks must not count: the callers' side, and another namespace.
      {
        namespace: "demo",
        workload: "podinfo",
        reporter: "source",
        rps: 50,
        codes: { "503": 1 },
        latency: [[5000, 1]],
      },
      {
        namespace: "other",
        workload: "podinfo",
        rps: 50,
        codes: { "503": 1 },
        latency: [[5000, 1]],
      },
      // gRPC: 30 % INTERNAL and 5 % UNAVAILABLE-as-503 fail; NOT_FOUND is the caller's (65 % ok).
      {
        namespace: "demo",
        workload: "greeter",
        rps: 20,
        codes: { "200 grpc 13": 0.3, "200 grpc 5": 0.1, "503 grpc 14": 0.05 },
        latency: [[50, 1]],
      },
      // Series that exist but receive no requests.
      { namespace: "demo", workload: "idle", rps: 0, latency: [[50, 1]] },
    ]);
    closers.push(() => mesh.close());
    prom = await startPrometheus({ targets: [mesh.target] });
    closers.push(() => prom.stop());
    await prom.waitFor(
      'count_over_time(vireo_requests_total{destination_workload="podinfo-primary",response_code="200"}[1m])',
      (n) => n >= 3,
    );
    runner = new MetricAnalysisRunner({
      prometheus: new PrometheusClient({ address: prom.url }),
      webhooks: new HttpWebhookRunner(log),
      log,
    });
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  beforeEach(() => {
    resolved.length = 0;
    templates.clear();
  });

  it("counts a gRPC server fault inside HTTP 200 as a failed request, and a caller's error as not", async () => {
    const report = await run(
      { metrics: [successRate({ min: 95 })] },
      { targetName: "greeter", primaryName: "greeter-primary", service: "greeter" },
    );
    assert.equal(round(report.checks[0]?.value ?? NaN), 65);
    assert.equal(report.checks[0]?.outcome, "fail");
  });

  it("measures the canary's success rate and p99 and passes them within their thresholds", async () => {
    const report = await run({ metrics: [successRate({ min: 95 }), duration({ max: 500 })] });
    assert.deepEqual(summary(report.checks), [
      {
        name: "request-success-rate",
        kind: "metric",
        value: 98,
        unit: "%",
        threshold: { min: 95 },
        outcome: "pass",
        message: "request-success-rate 98 % >= 95 %",
      },
      {
        name: "request-duration",
        kind: "metric",
        value: 475,
        unit: "ms",
        threshold: { max: 500 },
        outcome: "pass",
        message: "request-duration 475 ms <= 500 ms",
      },
    ]);
    assert.equal(report.outcome, "pass");
    assert.equal(report.message, "all 2 checks passed");
    assert.equal(
      report.checks[0]?.query,
      successRateQuery({ namespace: "demo", workload: "podinfo", windowMs: 10_000 }),
    );
  });

  it("fails a canary below the minimum or above the maximum", async () => {
    const report = await run({ metrics: [successRate({ min: 99 }), duration({ max: 300 })] });
    assert.deepEqual(
      report.checks.map((c) => [c.outcome, c.message]),
      [
        ["fail", "request-success-rate 98 % < 99 %"],
        ["fail", "request-duration 475 ms > 300 ms"],
      ],
    );
    assert.equal(report.outcome, "fail");
    assert.equal(
      report.message,
      "2 of 2 checks did not pass: request-success-rate 98 % < 99 %; request-duration 475 ms > 300 ms",
    );
  });

  it("reports no data for a workload without series and for one without requests in the window", async () => {
    const checks = [successRate({ min: 99 }), duration({ max: 500 })];
    const unknown = await run({ metrics: checks }, { targetName: "unknown" });
    assert.deepEqual(
      unknown.checks.map((c) => [c.outcome, c.message, c.value]),
      [
        [
          "noData",
          "request-success-rate: no data: no series for demo/unknown: no requests yet, or Prometheus does not scrape its proxies",
          undefined,
        ],
        [
          "noData",
          "request-duration: no data: no series for demo/unknown: no requests yet, or Prometheus does not scrape its proxies",
          undefined,
        ],
      ],
    );
    assert.equal(unknown.outcome, "noData");
    const idle = await run({ metrics: checks }, { targetName: "idle" });
    assert.deepEqual(
      idle.checks.map((c) => [c.outcome, c.message]),
      [
        ["noData", "request-success-rate: no data: no requests to demo/idle in the last 10s"],
        ["noData", "request-duration: no data: no requests to demo/idle in the last 10s"],
      ],
    );
  });

  it("does not judge a window with fewer requests than the minimum", async () => {
    const few = await run({ minRequests: 1_000_000, metrics: [successRate({ min: 99 })] });
    assert.equal(few.outcome, "noData");
    assert.match(
      few.checks[0]?.message ?? "",
      /^request-success-rate: no data: \d+ requests < minimum 1000000 in the last 10s$/,
    );
    const enough = await run({ minRequests: 10, metrics: [successRate({ min: 95 })] });
    assert.equal(enough.outcome, "pass");
  });

  it("holds the canary to the primary measured over the same window", async () => {
    const report = await run({
      metrics: [
        successRate({ relativeToPrimary: { maxDecreasePoints: 1 } }),
        duration({ relativeToPrimary: { maxIncreasePercent: 20 } }),
      ],
    });
    assert.deepEqual(summary(report.checks), [
      {
        name: "request-success-rate",
        kind: "metric",
        value: 98,
        unit: "%",
        primaryValue: 99.5,
        threshold: { min: 98.5 },
        outcome: "fail",
        message: "request-success-rate 98 % < 98.5 % (primary 99.5 % - 1 point)",
      },
      {
        name: "request-duration",
        kind: "metric",
        value: 475,
        unit: "ms",
        primaryValue: 99.5,
        threshold: { max: 119.4 },
        outcome: "fail",
        message: "request-duration 475 ms > 119.4 ms (primary 99.5 ms + 20 %)",
      },
    ]);
    const lenient = await run({
      metrics: [
        successRate({ min: 95, relativeToPrimary: { maxDecreasePoints: 2 } }),
        duration({ relativeToPrimary: { maxIncreasePercent: 400 } }),
      ],
    });
    assert.deepEqual(
      lenient.checks.map((c) => [c.outcome, c.message]),
      [
        ["pass", "request-success-rate 98 % >= 97.5 % (primary 99.5 % - 2 points)"],
        ["pass", "request-duration 475 ms <= 497.5 ms (primary 99.5 ms + 400 %)"],
      ],
    );
  });

  it("fails on an absolute bound whatever the primary shows, and reports a primary without data", async () => {
    const report = await run(
      {
        metrics: [
          successRate({ min: 99, relativeToPrimary: { maxDecreasePoints: 5 } }),
          duration({ relativeToPrimary: { maxIncreasePercent: 20 } }),
        ],
      },
      { primaryName: "gone-primary" },
    );
    assert.deepEqual(
      report.checks.map((c) => [c.outcome, c.message]),
      [
        ["fail", "request-success-rate 98 % < 99 %"],
        [
          "noData",
          "request-duration 475 ms; no data for the primary: no series for demo/gone-primary: no requests yet, or Prometheus does not scrape its proxies",
        ],
      ],
    );
  });

  it("runs a MetricTemplate with the Rollout's names, the window and the check's variables", async () => {
    templates.set("demo/client-errors", {
      ok: true,
      template: template("client-errors"),
      credentials: {},
    });
    const report = await run({
      metrics: [
        {
          name: "client-errors",
          max: 10,
          intervalMs: 5000,
          templateRef: { name: "client-errors" },
          templateVariables: { codes: "4.." },
        },
        {
          name: "client-errors-vs-primary",
          templateRef: { name: "client-errors" },
          templateVariables: { codes: "4.." },
          relativeToPrimary: { maxIncreasePercent: 100 },
        },
      ],
    });
    assert.deepEqual(summary(report.checks), [
      {
        name: "client-errors",
        kind: "metric",
        value: 5,
        threshold: { max: 10 },
        outcome: "pass",
        message: "client-errors 5 <= 10",
      },
      {
        name: "client-errors-vs-primary",
        kind: "metric",
        value: 5,
        primaryValue: 1,
        threshold: { max: 2 },
        outcome: "fail",
        message: "client-errors-vs-primary 5 > 2 (primary 1 + 100 %)",
      },
    ]);
    assert.equal(
      report.checks[0]?.query,
      CLIENT_ERRORS.replaceAll("{{ namespace }}", "demo")
        .replaceAll("{{target}}", "podinfo")
        .replaceAll("{{ target }}", "podinfo")
        .replaceAll("{{ variables.codes }}", "4..")
        .replaceAll("{{ interval }}", "5s"),
    );
    // Read once for both checks.
    assert.deepEqual(resolved, [{ name: "client-errors", namespace: "demo" }]);
  });

  it("reports a missing template, a missing variable and a resolver that throws as errors", async () => {
    templates.set("vireo/client-errors", {
      ok: true,
      template: template("client-errors", { namespace: "vireo" }),
      credentials: {},
    });
    const report = await run({
      metrics: [
        { name: "a", max: 1, templateRef: { name: "nope" } },
        { name: "b", max: 1, templateRef: { name: "client-errors", namespace: "vireo" } },
      ],
    });
    assert.deepEqual(
      report.checks.map((c) => [c.outcome, c.message]),
      [
        ["error", "a: MetricTemplate demo/nope not found"],
        [
          "error",
          "b: MetricTemplate vireo/client-errors: the query uses variables.codes, not in templateVariables (none are set)",
        ],
      ],
    );
    assert.equal(report.outcome, "error");
    const broken = await run(
      { metrics: [{ name: "c", max: 1, templateRef: { name: "x" } }] },
      { resolveTemplate: () => Promise.reject(new Error("apiserver unreachable")) },
    );
    assert.deepEqual(
      broken.checks.map((c) => [c.outcome, c.message]),
      [["error", "c: apiserver unreachable"]],
    );
  });

  it("sends a template's credentials to its Prometheus", async () => {
    const seen: (string | undefined)[] = [];
    const proxy = await listen((req, res) => {
      const auth = req.headers.authorization;
      seen.push(auth);
      if (auth !== "Bearer s3cret" && auth !== `Basic ${btoa("vireo:pa55")}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ status: "error", errorType: "unauthorized", error: "who are you" }),
        );
        return;
      }
      const upstream = http.request(
        `${prom.url}${req.url ?? "/"}`,
        { method: req.method, headers: { ...req.headers, host: `127.0.0.1:${prom.port}` } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    closers.push(proxy.close);
    const behind = {
      provider: { type: "prometheus", address: `${proxy.url}/`, insecureSkipVerify: false },
    } as const;
    templates.set("demo/bearer", {
      ok: true,
      template: template("bearer", behind),
      credentials: { auth: { kind: "bearer", token: "s3cret" } },
    });
    templates.set("demo/basic", {
      ok: true,
      template: template("basic", behind),
      credentials: { auth: { kind: "basic", username: "vireo", password: "pa55" } },
    });
    templates.set("demo/anonymous", {
      ok: true,
      template: template("anonymous", behind),
      credentials: {},
    });
    const check = (name: string): MetricCheck => ({
      name,
      max: 10,
      templateRef: { name },
      templateVariables: { codes: "4.." },
    });
    const report = await run({ metrics: [check("bearer"), check("basic"), check("anonymous")] });
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.outcome]),
      [
        ["bearer", "pass"],
        ["basic", "pass"],
        ["anonymous", "error"],
      ],
    );
    assert.equal(report.checks[2]?.message, `anonymous: Prometheus ${proxy.url}: 401: who are you`);
    assert.deepEqual(
      new Set(seen),
      new Set(["Bearer s3cret", `Basic ${btoa("vireo:pa55")}`, undefined]),
    );
  });

  it("runs the rollout webhooks as checks, with Flagger's payload", async () => {
    const bodies: unknown[] = [];
    const hooks = await listen((req, res) => {
      let data = "";
      req.on("data", (c: Buffer) => (data += c.toString()));
      req.on("end", () => {
        bodies.push(JSON.parse(data));
        if (req.url === "/ok") res.writeHead(200).end();
        else res.writeHead(500).end("boom");
      });
    });
    closers.push(hooks.close);
    const hook = (name: string, path: string, type: "rollout" | "pre-rollout" = "rollout") => ({
      name,
      type,
      url: `${hooks.url}${path}`,
      timeoutMs: 1000,
      retries: 0,
    });
    const report = await run({
      metrics: [successRate({ min: 95 })],
      webhooks: [hook("load", "/ok"), hook("smoke", "/fail"), hook("pre", "/fail", "pre-rollout")],
    });
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.kind, c.outcome, c.message]),
      [
        ["load", "webhook", "pass", "webhook load: 200"],
        ["smoke", "webhook", "fail", "webhook smoke: 500 boom"],
        ["request-success-rate", "metric", "pass", "request-success-rate 98 % >= 95 %"],
      ],
    );
    assert.equal(report.outcome, "fail");
    assert.equal(report.message, "1 of 3 checks did not pass: webhook smoke: 500 boom");
    assert.equal(bodies.length, 2);
    assert.deepEqual(bodies[0], {
      name: "podinfo",
      namespace: "demo",
      phase: "Progressing",
      checksum: "abc123",
      type: "rollout",
      metadata: {},
    });
  });

  it("passes with no checks configured", async () => {
    const report = await run({}, { now: 1234 });
    assert.deepEqual(report, {
      at: 1234,
      outcome: "pass",
      message: "no checks configured",
      checks: [],
    });
  });

  it("reports errors, not failures, when Prometheus is unreachable", async () => {
    const port = await freePort();
    const down = new MetricAnalysisRunner({
      prometheus: new PrometheusClient({ address: `http://127.0.0.1:${port}`, retries: 0 }),
      webhooks: new HttpWebhookRunner(log),
    });
    const report = await down.run(input({ minRequests: 5, metrics: [successRate({ min: 99 })] }));
    assert.equal(report.outcome, "error");
    assert.match(
      report.checks[0]?.message ?? "",
      new RegExp(
        `^request-success-rate: counting requests: Prometheus http://127.0.0.1:${port}: .*ECONNREFUSED`,
      ),
    );
  });
});

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
