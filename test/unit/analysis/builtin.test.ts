import assert from "node:assert/strict";
import {
  BUILTIN_CHECKS,
  durationP99Query,
  isBuiltinMetric,
  labelValue,
  promDuration,
  requestCountQuery,
  successRateQuery,
} from "../../../src/analysis/builtin.js";
import { BUILTIN_METRICS } from "../../../src/api/defaults.js";

const scope = { namespace: "demo", workload: "podinfo", windowMs: 30_000 };
const SELECTOR =
  'reporter="destination",destination_workload_namespace="demo",destination_workload="podinfo"';

describe("built-in checks", () => {
  it("has a query for every built-in metric the parser accepts, and no other", () => {
    assert.deepEqual(Object.keys(BUILTIN_CHECKS).sort(), [...BUILTIN_METRICS].sort());
    assert.ok(isBuiltinMetric("request-duration"));
    assert.ok(!isBuiltinMetric("toString"));
  });

  it("request-success-rate: the percentage of responses that are not 5xx nor a gRPC server fault, 0 % when all are", () => {
    assert.equal(
      successRateQuery(scope),
      `100 * (sum(rate(vireo_requests_total{${SELECTOR},response_code!~"5..",grpc_response_status!~"2|4|12|13|14|15"}[30s])) or vector(0))` +
        ` / sum(rate(vireo_requests_total{${SELECTOR}}[30s]))`,
    );
    assert.equal(BUILTIN_CHECKS["request-success-rate"].unit, "%");
  });

  it("request-duration: the p99 of the histogram, in milliseconds", () => {
    assert.equal(
      durationP99Query(scope),
      `histogram_quantile(0.99, sum by (le) (rate(vireo_request_duration_milliseconds_bucket{${SELECTOR}}[30s])))`,
    );
    assert.equal(BUILTIN_CHECKS["request-duration"].unit, "ms");
  });

  it("counts the requests in the window", () => {
    assert.equal(
      requestCountQuery({ ...scope, windowMs: 90_000 }),
      `sum(increase(vireo_requests_total{${SELECTOR}}[1m30s]))`,
    );
  });

  it("writes label values as PromQL strings", () => {
    assert.equal(labelValue('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
  });

  for (const [ms, text] of [
    [30_000, "30s"],
    [60_000, "1m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_430_500, "1h30m30s500ms"],
    [1500, "1s500ms"],
    [250, "250ms"],
    [0, "1ms"],
  ] as const) {
    it(`writes ${ms} ms as ${text}`, () => {
      assert.equal(promDuration(ms), text);
    });
  }
});
