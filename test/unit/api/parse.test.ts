import assert from "node:assert/strict";
import { parseRollout } from "../../../src/api/parse.js";
import type { ParseFailureReason } from "../../../src/api/parse.js";
import { linearWeights, regexProblem } from "../../../src/api/parse-strategy.js";
import type { RolloutSpecWire } from "../../../src/api/rollout-wire.js";
import type { RolloutSpec } from "../../../src/domain/rollout.js";

/** The smallest spec the schema accepts. */
const minimal: RolloutSpecWire = {
  targetRef: { kind: "Deployment", name: "podinfo" },
  service: { port: 9898 },
  strategy: { canary: { steps: [{ setWeight: 10 }] } },
};

function rollout(spec: unknown): unknown {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "podinfo", namespace: "demo" },
    spec,
  };
}

/** `minimal` with some top-level fields replaced (a wire value, deliberately loosely typed). */
function withSpec(fields: Record<string, unknown>): unknown {
  return rollout({ ...minimal, ...fields });
}

function parsed(obj: unknown): RolloutSpec {
  const r = parseRollout(obj);
  if (!r.ok) assert.fail(`expected ok, got ${r.reason}: ${r.message}`);
  return r.spec;
}

describe("parseRollout", () => {
  it("applies every default to the smallest valid spec", () => {
    assert.deepEqual(parsed(rollout(minimal)), {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { name: "podinfo", port: 9898, targetPort: 9898, portName: "http" },
      strategy: { kind: "canary", steps: [{ kind: "setWeight", weight: 10 }] },
      analysis: { intervalMs: 30_000, threshold: 3, metrics: [], webhooks: [] },
      alerts: [],
      progressDeadlineSeconds: 600,
      skipAnalysis: false,
      suspend: false,
      revertOnDeletion: false,
      promotionWindows: [],
    } satisfies RolloutSpec);
  });

  it("reads a spec the API server has defaulted the same way", () => {
    const defaulted = {
      ...minimal,
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 9898, portName: "http" },
      analysis: { interval: "30s", threshold: 3 },
      progressDeadlineSeconds: 600,
      skipAnalysis: false,
      suspend: false,
      revertOnDeletion: false,
    };
    assert.deepEqual(parsed(rollout(defaulted)), parsed(rollout(minimal)));
  });

  describe("strategies", () => {
    const cases: { name: string; strategy: unknown; want: RolloutSpec["strategy"] }[] = [
      {
        name: "canary steps with timed and open pauses",
        strategy: {
          canary: {
            steps: [
              { setWeight: 10 },
              { setWeight: 30 },
              { pause: { duration: "2m" } },
              { setWeight: 30 },
              { setWeight: 60 },
              { pause: {} },
              { setWeight: 100 },
            ],
          },
        },
        want: {
          kind: "canary",
          steps: [
            { kind: "setWeight", weight: 10 },
            { kind: "setWeight", weight: 30 },
            { kind: "pause", durationMs: 120_000 },
            { kind: "setWeight", weight: 30 },
            { kind: "setWeight", weight: 60 },
            { kind: "pause" },
            { kind: "setWeight", weight: 100 },
          ],
        },
      },
      {
        name: "canary steps may start at weight 0",
        strategy: { canary: { steps: [{ setWeight: 0 }, { pause: { duration: "1.5s" } }] } },
        want: {
          kind: "canary",
          steps: [
            { kind: "setWeight", weight: 0 },
            { kind: "pause", durationMs: 1500 },
          ],
        },
      },
      {
        name: "stepWeight 20 up to maxWeight 50: capped at 50, not Flagger's 60",
        strategy: { canary: { stepWeight: 20, maxWeight: 50 } },
        want: { kind: "canary", steps: weights(20, 40, 50) },
      },
      {
        name: "stepWeight 25, maxWeight defaults to 100",
        strategy: { canary: { stepWeight: 25 } },
        want: { kind: "canary", steps: weights(25, 50, 75, 100) },
      },
      {
        name: "stepWeight 30 ends with a last step at maxWeight",
        strategy: { canary: { stepWeight: 30 } },
        want: { kind: "canary", steps: weights(30, 60, 90, 100) },
      },
      {
        name: "stepWeight equal to maxWeight is one step",
        strategy: { canary: { stepWeight: 50, maxWeight: 50 } },
        want: { kind: "canary", steps: weights(50) },
      },
      {
        name: "stepWeights become one step each",
        strategy: { canary: { stepWeights: [1, 2, 10, 80] } },
        want: { kind: "canary", steps: weights(1, 2, 10, 80) },
      },
      {
        name: "A/B testing: header, cookie (a regex on the cookie header), uri and query",
        strategy: {
          abTesting: {
            iterations: 10,
            match: [
              { headers: { "X-Canary": { exact: "insider" } } },
              { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
              {
                uri: { prefix: "/api/" },
                queryParams: { beta: { present: true } },
                headers: { "user-agent": { suffix: "Firefox" }, "x-empty": { exact: "" } },
              },
            ],
          },
        },
        want: {
          kind: "abTesting",
          iterations: 10,
          matches: [
            { headers: { "x-canary": { exact: "insider" } } },
            { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
            {
              headers: { "user-agent": { suffix: "Firefox" }, "x-empty": { exact: "" } },
              uri: { prefix: "/api/" },
              queryParams: { beta: { present: true } },
            },
          ],
        },
      },
      {
        name: "blue/green",
        strategy: { blueGreen: { iterations: 5 } },
        want: { kind: "blueGreen", iterations: 5 },
      },
      {
        name: "mirroring defaults to all traffic",
        strategy: { mirroring: { iterations: 3 } },
        want: { kind: "mirroring", mirrorPercent: 100, iterations: 3 },
      },
      {
        name: "mirroring a share",
        strategy: { mirroring: { mirrorPercent: 25, iterations: 3 } },
        want: { kind: "mirroring", mirrorPercent: 25, iterations: 3 },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        assert.deepEqual(parsed(withSpec({ strategy: c.strategy })).strategy, c.want);
      });
    }
  });

  describe("defaults and conversions", () => {
    const cases: { name: string; fields: Record<string, unknown>; want: Partial<RolloutSpec> }[] = [
      {
        name: "service name, target port and port name given",
        fields: {
          service: {
            name: "web",
            port: 80,
            targetPort: "http-alt",
            portName: "grpc",
            timeout: "5s",
          },
        },
        want: {
          service: {
            name: "web",
            port: 80,
            targetPort: "http-alt",
            portName: "grpc",
            timeoutMs: 5000,
          },
        },
      },
      {
        name: "numeric targetPort, retries with the default retryOn",
        fields: {
          service: { port: 80, targetPort: 8080, retries: { attempts: 2, perTryTimeout: "1s" } },
        },
        want: {
          service: {
            name: "podinfo",
            port: 80,
            targetPort: 8080,
            portName: "http",
            retries: { attempts: 2, perTryTimeoutMs: 1000, retryOn: "5xx,reset,connect-failure" },
          },
        },
      },
      {
        name: "traffic policy with outlier detection defaults",
        fields: {
          service: {
            port: 80,
            retries: { attempts: 0, retryOn: "gateway-error" },
            trafficPolicy: {
              loadBalancer: "LEAST_REQUEST",
              connectTimeout: "250ms",
              circuitBreaker: { maxConnections: 100, maxRetries: 0 },
              outlierDetection: {},
            },
          },
        },
        want: {
          service: {
            name: "podinfo",
            port: 80,
            targetPort: 80,
            portName: "http",
            retries: { attempts: 0, retryOn: "gateway-error" },
            trafficPolicy: {
              loadBalancer: "LEAST_REQUEST",
              connectTimeoutMs: 250,
              circuitBreaker: { maxConnections: 100, maxRetries: 0 },
              outlierDetection: {
                consecutive5xx: 5,
                intervalMs: 10_000,
                baseEjectionTimeMs: 30_000,
                maxEjectionPercent: 10,
              },
            },
          },
        },
      },
      {
        name: "analysis: metrics, webhooks and their defaults",
        fields: {
          analysis: {
            interval: "1m",
            threshold: 5,
            metrics: [
              { name: "request-success-rate", thresholdRange: { min: 99 } },
              { name: "request-duration", interval: "30s", thresholdRange: { max: 500 } },
              {
                name: "errors",
                thresholdRange: { min: 0, max: 0.5 },
                templateRef: { name: "error-rate", namespace: "vireo" },
                templateVariables: { route: "/api" },
              },
            ],
            webhooks: [
              { name: "smoke", type: "pre-rollout", url: "http://loadtester.demo/smoke" },
              {
                name: "approve",
                type: "confirm-promotion",
                url: "https://gate.example/approve",
                timeout: "2s",
                retries: 2,
                metadata: { team: "web" },
                deadline: "1h",
              },
              { name: "load", url: "http://loadtester.demo/" },
            ],
          },
        },
        want: {
          analysis: {
            intervalMs: 60_000,
            threshold: 5,
            metrics: [
              { name: "request-success-rate", min: 99 },
              { name: "request-duration", intervalMs: 30_000, max: 500 },
              {
                name: "errors",
                min: 0,
                max: 0.5,
                templateRef: { name: "error-rate", namespace: "vireo" },
                templateVariables: { route: "/api" },
              },
            ],
            webhooks: [
              {
                name: "smoke",
                type: "pre-rollout",
                url: "http://loadtester.demo/smoke",
                timeoutMs: 10_000,
                retries: 0,
              },
              {
                name: "approve",
                type: "confirm-promotion",
                url: "https://gate.example/approve",
                timeoutMs: 2000,
                retries: 2,
                metadata: { team: "web" },
                deadlineMs: 3_600_000,
              },
              {
                name: "load",
                type: "rollout",
                url: "http://loadtester.demo/",
                timeoutMs: 10_000,
                retries: 0,
              },
            ],
          },
        },
      },
      {
        name: "analysis: checks relative to the primary, and a minimum request count",
        fields: {
          analysis: {
            minRequests: 50,
            metrics: [
              {
                name: "request-success-rate",
                thresholdRange: { min: 95 },
                relativeToPrimary: { maxDecreasePoints: 1 },
              },
              { name: "request-duration", relativeToPrimary: { maxIncreasePercent: 20 } },
            ],
          },
        },
        want: {
          analysis: {
            intervalMs: 30_000,
            threshold: 3,
            minRequests: 50,
            metrics: [
              {
                name: "request-success-rate",
                min: 95,
                relativeToPrimary: { maxDecreasePoints: 1 },
              },
              { name: "request-duration", relativeToPrimary: { maxIncreasePercent: 20 } },
            ],
            webhooks: [],
          },
        },
      },
      {
        name: "analysis: built-in checks without bounds are the sequential judge's, with its margins and levels",
        fields: {
          analysis: {
            alpha: 0.001,
            passAlpha: 0.1,
            metrics: [
              { name: "request-success-rate" },
              { name: "request-duration", maxIncrease: "10%" },
            ],
          },
        },
        want: {
          analysis: {
            intervalMs: 30_000,
            threshold: 3,
            alpha: 0.001,
            passAlpha: 0.1,
            metrics: [
              { name: "request-success-rate", judge: { margin: { kind: "points", points: 0.5 } } },
              { name: "request-duration", judge: { margin: { kind: "percent", percent: 10 } } },
            ],
            webhooks: [],
          },
        },
      },
      {
        name: "analysis: the judge's other margins",
        fields: {
          analysis: {
            metrics: [
              { name: "request-success-rate", maxIncrease: "1.5x" },
              { name: "request-duration" },
            ],
          },
        },
        want: {
          analysis: {
            intervalMs: 30_000,
            threshold: 3,
            metrics: [
              { name: "request-success-rate", judge: { margin: { kind: "ratio", ratio: 1.5 } } },
              { name: "request-duration", judge: { margin: { kind: "ms", ms: 20 } } },
            ],
            webhooks: [],
          },
        },
      },
      {
        name: "alerts default to severity info",
        fields: {
          alerts: [
            { name: "team", providerRef: { name: "slack" } },
            { name: "oncall", severity: "error", providerRef: { name: "pager", namespace: "ops" } },
          ],
        },
        want: {
          alerts: [
            { name: "team", severity: "info", providerRef: { name: "slack" } },
            { name: "oncall", severity: "error", providerRef: { name: "pager", namespace: "ops" } },
          ],
        },
      },
      {
        name: "flags, deadline and promotion windows",
        fields: {
          progressDeadlineSeconds: 120,
          skipAnalysis: true,
          suspend: true,
          revertOnDeletion: true,
          promotionWindows: [
            { schedule: "0 9 * * 1-5", duration: "8h" },
            { schedule: "@daily", duration: "30m" },
          ],
        },
        want: {
          progressDeadlineSeconds: 120,
          skipAnalysis: true,
          suspend: true,
          revertOnDeletion: true,
          promotionWindows: [
            { schedule: "0 9 * * 1-5", durationMs: 28_800_000 },
            { schedule: "@daily", durationMs: 1_800_000 },
          ],
        },
      },
      {
        name: "fault injection",
        fields: {
          fault: {
            abort: { percent: 10, httpStatus: 503 },
            delay: { percent: 50.5, fixedDelay: "1.5s" },
          },
        },
        want: {
          fault: {
            abort: { percent: 10, httpStatus: 503 },
            delay: { percent: 50.5, delayMs: 1500 },
          },
        },
      },
      {
        name: "unknown fields are ignored",
        fields: { replicas: 3, service: { port: 80, appProtocol: "http" } },
        want: { service: { name: "podinfo", port: 80, targetPort: 80, portName: "http" } },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const spec = parsed(withSpec(c.fields));
        const picked = Object.fromEntries(
          Object.keys(c.want).map((k) => [k, spec[k as keyof RolloutSpec]]),
        );
        assert.deepEqual(picked, c.want);
      });
    }
  });

  describe("refusals", () => {
    const canary = (c: unknown) => withSpec({ strategy: { canary: c } });
    const analysis = (a: unknown) => withSpec({ analysis: a });
    const match = (m: unknown) =>
      withSpec({ strategy: { abTesting: { iterations: 1, match: [m] } } });
    const cases: { name: string; obj: unknown; reason?: ParseFailureReason; message: string }[] = [
      { name: "not an object", obj: "podinfo", message: "spec: required" },
      { name: "no spec", obj: { kind: "Rollout" }, message: "spec: required" },
      { name: "spec is a list", obj: rollout([]), message: "spec: must be an object, got a list" },
      {
        name: "no targetRef",
        obj: rollout({ service: { port: 80 }, strategy: minimal.strategy }),
        message: "spec.targetRef: required",
      },
      {
        name: "a target other than a Deployment",
        obj: withSpec({ targetRef: { kind: "StatefulSet", name: "db" } }),
        message: 'spec.targetRef.kind: must be one of Deployment, got "StatefulSet"',
      },
      {
        name: "a port given as a string",
        obj: withSpec({ service: { port: "9898" } }),
        message: 'spec.service.port: must be an integer from 1 to 65535, got "9898"',
      },
      {
        name: "a target name unusable as a Service name",
        obj: withSpec({ targetRef: { kind: "Deployment", name: "Web.v2" } }),
        message:
          "spec.targetRef.name: is also the Service name unless service.name is set, so " +
          '"Web.v2" must be a lowercase DNS label of at most 55 characters (room for -primary and -canary)',
      },
      {
        name: "a targetPort name that is not a port name",
        obj: withSpec({ service: { port: 80, targetPort: "HTTP_PORT" } }),
        message:
          'spec.service.targetPort: "HTTP_PORT" is not a port name: at most 15 lowercase letters, digits and dashes, with a letter',
      },
      {
        name: "two strategies",
        obj: withSpec({ strategy: { canary: { stepWeight: 10 }, blueGreen: { iterations: 1 } } }),
        message:
          "spec.strategy: set exactly one of canary, abTesting, blueGreen, mirroring; found canary and blueGreen",
      },
      {
        name: "no strategy",
        obj: withSpec({ strategy: {} }),
        message:
          "spec.strategy: set exactly one of canary, abTesting, blueGreen, mirroring; none is set",
      },
      {
        name: "steps and stepWeight",
        obj: canary({ steps: [{ setWeight: 10 }], stepWeight: 10 }),
        message:
          "spec.strategy.canary: set exactly one of steps, stepWeight, stepWeights; found steps and stepWeight",
      },
      {
        name: "maxWeight without stepWeight",
        obj: canary({ stepWeights: [10, 20], maxWeight: 50 }),
        message: "spec.strategy.canary.maxWeight: applies only with stepWeight",
      },
      {
        name: "stepWeight above maxWeight",
        obj: canary({ stepWeight: 60, maxWeight: 50 }),
        message: "spec.strategy.canary.stepWeight: must not exceed maxWeight (50), got 60",
      },
      {
        name: "decreasing setWeight",
        obj: canary({ steps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 20 }] }),
        message:
          "spec.strategy.canary.steps[2].setWeight: setWeight must not decrease from one step to the next, got 30 then 20",
      },
      {
        name: "weight 120",
        obj: canary({ steps: [{ setWeight: 120 }] }),
        message:
          "spec.strategy.canary.steps[0].setWeight: must be an integer from 0 to 100, got 120",
      },
      {
        name: "a fractional weight",
        obj: canary({ steps: [{ setWeight: 12.5 }] }),
        message:
          "spec.strategy.canary.steps[0].setWeight: must be an integer from 0 to 100, got 12.5",
      },
      {
        name: "a step with both setWeight and pause",
        obj: canary({ steps: [{ setWeight: 10, pause: {} }] }),
        message:
          "spec.strategy.canary.steps[0]: set exactly one of setWeight, pause; found setWeight and pause",
      },
      {
        name: "an empty step",
        obj: canary({ steps: [{}] }),
        message: "spec.strategy.canary.steps[0]: set exactly one of setWeight, pause; none is set",
      },
      {
        name: "no steps",
        obj: canary({ steps: [] }),
        message: "spec.strategy.canary.steps: must have from 1 to 64 entries, got 0",
      },
      {
        name: "stepWeights not strictly increasing",
        obj: canary({ stepWeights: [10, 20, 20] }),
        message:
          "spec.strategy.canary.stepWeights[2]: stepWeights must be strictly increasing, got 20 then 20",
      },
      {
        name: "a bad duration",
        obj: canary({ steps: [{ pause: { duration: "5 minutes" } }] }),
        message:
          'spec.strategy.canary.steps[0].pause.duration: "5 minutes" is not a duration: write numbers with units ms, s, m or h, e.g. 500ms, 30s or 1m30s',
      },
      {
        name: "a pause longer than a timer can wait",
        obj: canary({ steps: [{ pause: { duration: "577h" } }] }),
        message:
          "spec.strategy.canary.steps[0].pause.duration: must be at most 576h (24 days), got 577h",
      },
      {
        name: "an analysis interval under a second",
        obj: analysis({ interval: "500ms" }),
        message: "spec.analysis.interval: must be at least 1s",
      },
      {
        name: "thresholdRange min above max",
        obj: analysis({
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 99, max: 90 } }],
        }),
        message:
          "spec.analysis.metrics[0].thresholdRange: thresholdRange.min (99) must not exceed thresholdRange.max (90)",
      },
      {
        name: "thresholdRange without bounds",
        obj: analysis({ metrics: [{ name: "request-duration", thresholdRange: {} }] }),
        message: "spec.analysis.metrics[0].thresholdRange: thresholdRange needs min, max or both",
      },
      {
        // A built-in without either is the sequential judge's (above); a template has no judge.
        name: "a template check with neither thresholdRange nor relativeToPrimary",
        obj: analysis({ metrics: [{ name: "errors", templateRef: { name: "errors" } }] }),
        message:
          "spec.analysis.metrics[0].thresholdRange: required unless relativeToPrimary is set",
      },
      {
        name: "maxIncrease on a threshold check",
        obj: analysis({
          metrics: [
            { name: "request-duration", maxIncrease: "20ms", thresholdRange: { max: 500 } },
          ],
        }),
        message:
          "spec.analysis.metrics[0].maxIncrease: maxIncrease is the sequential judge's margin, for a built-in check without thresholdRange or relativeToPrimary",
      },
      {
        name: "a latency margin on error rates",
        obj: analysis({ metrics: [{ name: "request-success-rate", maxIncrease: "20ms" }] }),
        message:
          'spec.analysis.metrics[0].maxIncrease: "20ms" is not a margin for error rates: points of error rate ("0.5%", more than 0 and at most 100) or a ratio above 1 ("1.5x")',
      },
      {
        name: "a ratio margin on latency",
        obj: analysis({ metrics: [{ name: "request-duration", maxIncrease: "2x" }] }),
        message:
          'spec.analysis.metrics[0].maxIncrease: "2x" is not a margin for latency: milliseconds ("20ms") or percent ("10%"), more than 0',
      },
      {
        name: "an alpha of zero",
        obj: analysis({ alpha: 0 }),
        message: "spec.analysis.alpha: must be a number from 1e-9 to 0.5, got 0",
      },
      {
        name: "the sequential judge outside the canary strategy",
        obj: withSpec({
          strategy: { blueGreen: { iterations: 2 } },
          analysis: { metrics: [{ name: "request-success-rate" }] },
        }),
        message:
          "spec.analysis.metrics[0]: the sequential judge compares the canary with the primary at a known traffic split, which only the canary strategy has: give blueGreen a thresholdRange or relativeToPrimary",
      },
      {
        name: "relativeToPrimary without bounds",
        obj: analysis({ metrics: [{ name: "request-duration", relativeToPrimary: {} }] }),
        message:
          "spec.analysis.metrics[0].relativeToPrimary: relativeToPrimary needs maxDecreasePoints, maxIncreasePercent or both",
      },
      {
        name: "a negative relative bound",
        obj: analysis({
          metrics: [{ name: "request-duration", relativeToPrimary: { maxIncreasePercent: -5 } }],
        }),
        message:
          "spec.analysis.metrics[0].relativeToPrimary.maxIncreasePercent: must be a number of at least 0, got -5",
      },
      {
        name: "a minimum request count of zero",
        obj: analysis({ minRequests: 0 }),
        message: "spec.analysis.minRequests: must be an integer from 1 to 1000000000, got 0",
      },
      {
        name: "a metric that is neither built in nor a template",
        obj: analysis({ metrics: [{ name: "latency", thresholdRange: { max: 1 } }] }),
        message:
          "spec.analysis.metrics[0]: metric 'latency' has no templateRef, so it must be a built-in: request-success-rate or request-duration",
      },
      {
        name: "a metric name used twice",
        obj: analysis({
          metrics: [
            { name: "request-duration", thresholdRange: { max: 500 } },
            { name: "request-duration", thresholdRange: { max: 900 } },
          ],
        }),
        message:
          "spec.analysis.metrics[1].name: metric names must be unique, request-duration is used twice",
      },
      {
        name: "a deadline on a webhook that is not a gate",
        obj: analysis({ webhooks: [{ name: "smoke", url: "http://t/", deadline: "1m" }] }),
        message:
          "spec.analysis.webhooks[0].deadline: deadline applies only to the confirm-rollout, confirm-traffic-increase and confirm-promotion gates",
      },
      {
        name: "an unknown webhook type",
        obj: analysis({ webhooks: [{ name: "x", type: "pre-promotion", url: "http://t/" }] }),
        message:
          'spec.analysis.webhooks[0].type: must be one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event, got "pre-promotion"',
      },
      {
        name: "a webhook URL that is not http",
        obj: analysis({ webhooks: [{ name: "x", url: "loadtester.demo/smoke" }] }),
        message:
          'spec.analysis.webhooks[0].url: "loadtester.demo/smoke" is not an absolute http or https URL',
      },
      {
        name: "an unknown alert severity",
        obj: withSpec({
          alerts: [{ name: "a", severity: "critical", providerRef: { name: "s" } }],
        }),
        message: 'spec.alerts[0].severity: must be one of info, warn, error, got "critical"',
      },
      {
        name: "a cron expression that does not parse",
        obj: withSpec({ promotionWindows: [{ schedule: "0 25 * * *", duration: "1h" }] }),
        reason: "InvalidSchedule",
        message:
          'spec.promotionWindows[0].schedule: "0 25 * * *" is not a cron expression: Field value (25) is out of range',
      },
      {
        name: "a regex that does not compile",
        obj: match({ headers: { "x-user": { regex: "([a-z]+" } } }),
        reason: "InvalidMatch",
        message:
          'spec.strategy.abTesting.match[0].headers[x-user].regex: "([a-z]+" is not a valid regular expression: Invalid regular expression: /([a-z]+/: Unterminated group',
      },
      {
        name: "a regex with lookahead, which RE2 lacks",
        obj: match({ uri: { regex: "^/api(?!/internal)" } }),
        reason: "InvalidMatch",
        message:
          'spec.strategy.abTesting.match[0].uri.regex: "^/api(?!/internal)" uses lookaround, which RE2 (Envoy, gRPC) does not support',
      },
      {
        name: "a regex with a backreference, which RE2 lacks",
        obj: match({ headers: { cookie: { regex: "(a)\\1" } } }),
        reason: "InvalidMatch",
        message:
          'spec.strategy.abTesting.match[0].headers[cookie].regex: "(a)\\\\1" uses a backreference, which RE2 (Envoy, gRPC) does not support',
      },
      {
        name: "an empty match",
        obj: match({}),
        message:
          "spec.strategy.abTesting.match[0]: a match needs headers, uri or queryParams; an empty one would send every request to the canary",
      },
      {
        name: "a match on uri presence",
        obj: match({ uri: { present: true } }),
        message:
          "spec.strategy.abTesting.match[0].uri: uri cannot use present, every request has one",
      },
      {
        name: "a string match with two operators",
        obj: match({ headers: { "x-a": { exact: "1", prefix: "1" } } }),
        message:
          "spec.strategy.abTesting.match[0].headers[x-a]: set exactly one of exact, prefix, suffix, regex, present; found exact and prefix",
      },
      {
        name: "the same header twice in different case",
        obj: match({ headers: { "X-A": { exact: "1" }, "x-a": { exact: "2" } } }),
        message:
          "spec.strategy.abTesting.match[0].headers[x-a]: header x-a is matched twice (header names ignore case)",
      },
      {
        name: "A/B testing without iterations",
        obj: withSpec({ strategy: { abTesting: { match: [{ uri: { exact: "/" } }] } } }),
        message: "spec.strategy.abTesting.iterations: required",
      },
      {
        name: "a fault abort with two status kinds",
        obj: withSpec({ fault: { abort: { percent: 1, httpStatus: 500, grpcStatus: 14 } } }),
        message:
          "spec.fault.abort: set exactly one of httpStatus, grpcStatus; found httpStatus and grpcStatus",
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const got = parseRollout(c.obj);
        // The fallback (what a rollback needs) is tested below.
        assert.deepEqual(got.ok ? got : { ok: got.ok, reason: got.reason, message: got.message }, {
          ok: false,
          reason: c.reason ?? "InvalidSpec",
          message: c.message,
        });
      });
    }
  });

  describe("a refused spec's fallback: its Service and target, for a rollback", () => {
    const fallbackOf = (obj: unknown) => {
      const got = parseRollout(obj);
      assert.equal(got.ok, false);
      return got.ok ? undefined : got.fallback;
    };

    it("steps that decrease: the rest stands, the strategy and analysis left out", () => {
      const fb = fallbackOf(
        withSpec({
          service: { port: 9898, timeout: "7s" },
          progressDeadlineSeconds: 90,
          strategy: { canary: { steps: [{ setWeight: 50 }, { setWeight: 10 }] } },
          analysis: { metrics: [{ name: "request-success-rate" }] },
        }),
      );
      assert.equal(fb?.service.port, 9898);
      assert.equal(fb.service.timeoutMs, 7000);
      assert.equal(fb.progressDeadlineSeconds, 90);
      assert.deepEqual(fb.analysis.metrics, []);
    });

    it("a bad alert: the fallback leaves the alerts out too", () => {
      const fb = fallbackOf(withSpec({ alerts: [{ name: "x" }] }));
      assert.deepEqual(fb?.alerts, []);
    });

    it("a bad Service timeout: no fallback (nothing says where traffic goes)", () => {
      assert.equal(fallbackOf(withSpec({ service: { port: 80, timeout: "5x" } })), undefined);
    });
  });
});

describe("linearWeights", () => {
  const cases: [step: number, max: number, want: number[]][] = [
    [20, 50, [20, 40, 50]],
    [10, 30, [10, 20, 30]],
    [33, 100, [33, 66, 99, 100]],
    [100, 100, [100]],
    [1, 3, [1, 2, 3]],
  ];
  for (const [step, max, want] of cases) {
    it(`${step} up to ${max}: ${want.join(", ")}`, () => {
      assert.deepEqual(linearWeights(step, max), want);
    });
  }
});

describe("regexProblem", () => {
  const ok = ["^(.*?;)?(canary=always)(;.*)?$", "[(?=]", "\\\\1", "a\\(?=b", "x{2,3}"];
  for (const re of ok) {
    it(`accepts ${re}`, () => {
      assert.equal(regexProblem(re), undefined);
    });
  }
  const bad = ["(?<=a)b", "(?<!a)b", "a(?=b)", "(?<n>a)\\k<n>", "[", "(a)\\2"];
  for (const re of bad) {
    it(`refuses ${re}`, () => {
      assert.notEqual(regexProblem(re), undefined);
    });
  }
});

function weights(...ws: number[]): { kind: "setWeight"; weight: number }[] {
  return ws.map((weight) => ({ kind: "setWeight", weight }));
}
