// The Rollout CRD on a real kube-apiserver: valid specs are accepted with the parser's defaults,
// invalid ones are refused with a message a person understands, and `kubectl get rollouts` shows
// where each release stands.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { parseRollout } from "../../src/api/parse.js";
import { parseStatus, statusToWire } from "../../src/api/parse-status.js";
import {
  ROLLOUT_GROUP,
  ROLLOUT_PLURAL,
  ROLLOUT_VERSION,
  type RolloutSpecWire,
  type RolloutWire,
} from "../../src/api/rollout-wire.js";
import type { RolloutStatus } from "../../src/domain/rollout.js";
import { apiMessage, ensureCrd } from "./crds.js";
import { cluster, clusterDir, useNamespace } from "./harness.js";

const KUBECTL = process.env.KUBECTL ?? "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

const minimal: RolloutSpecWire = {
  targetRef: { kind: "Deployment", name: "podinfo" },
  service: { port: 9898 },
  strategy: { canary: { steps: [{ setWeight: 10 }] } },
};

function manifest(name: string, spec: unknown): RolloutWire {
  return {
    apiVersion: `${ROLLOUT_GROUP}/${ROLLOUT_VERSION}`,
    kind: "Rollout",
    metadata: { name },
    spec: spec as RolloutSpecWire,
  };
}

function kubectl(...args: string[]): string {
  return execFileSync(KUBECTL, args, {
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: join(clusterDir, "kubeconfig") },
  });
}

/** A kubectl table as rows of cells (columns are separated by two or more spaces). */
function table(out: string): string[][] {
  return out
    .trimEnd()
    .split("\n")
    .map((line) => line.trim().split(/\s{2,}/));
}

describe("Rollout CRD", function () {
  this.timeout(60_000);
  const ns = useNamespace("rollout-crd");
  const custom = () => cluster().kc.makeApiClient(CustomObjectsApi);
  const at = (namespace: string) => ({
    group: ROLLOUT_GROUP,
    version: ROLLOUT_VERSION,
    plural: ROLLOUT_PLURAL,
    namespace,
  });

  async function create(namespace: string, body: RolloutWire, dryRun = false): Promise<unknown> {
    return (await custom().createNamespacedCustomObject({
      ...at(namespace),
      body,
      ...(dryRun ? { dryRun: "All" } : {}),
    })) as unknown;
  }

  async function get(namespace: string, name: string): Promise<RolloutWire> {
    return (await custom().getNamespacedCustomObject({ ...at(namespace), name })) as RolloutWire;
  }

  before(async function () {
    this.timeout(60_000);
    await ensureCrd("rollouts.vireo.dev.yaml");
  });

  it("installs idempotently", async () => {
    await ensureCrd("rollouts.vireo.dev.yaml");
  });

  it("accepts a valid Rollout and fills in the defaults", async () => {
    await create(ns(), manifest("defaults", minimal));
    const got = await get(ns(), "defaults");
    assert.deepEqual(got.spec, {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 9898, portName: "http" },
      strategy: { canary: { steps: [{ setWeight: 10 }] } },
      analysis: { interval: "30s", threshold: 3 },
      progressDeadlineSeconds: 600,
      skipAnalysis: false,
      suspend: false,
      revertOnDeletion: false,
    });
    assert.equal(got.status, undefined);
    assert.equal(parseStatus(got), undefined);
    assert.deepEqual(parseRollout(got), parseRollout(manifest("defaults", minimal)));
  });

  describe("accepts every strategy, and the parser reads what the server stored as it reads the manifest", () => {
    const specs: [string, unknown][] = [
      [
        "canary steps with pauses",
        {
          ...minimal,
          strategy: {
            canary: {
              steps: [
                { setWeight: 10 },
                { pause: { duration: "2m" } },
                { setWeight: 10 },
                { setWeight: 60 },
                { pause: {} },
              ],
            },
          },
        },
      ],
      [
        "canary stepWeight",
        { ...minimal, strategy: { canary: { stepWeight: 20, maxWeight: 50 } } },
      ],
      ["canary stepWeights", { ...minimal, strategy: { canary: { stepWeights: [1, 5, 25, 80] } } }],
      [
        "A/B testing on a header and a cookie",
        {
          ...minimal,
          strategy: {
            abTesting: {
              iterations: 10,
              match: [
                { headers: { "x-canary": { exact: "insider" } } },
                { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
                { uri: { prefix: "/api" }, queryParams: { beta: { present: true } } },
              ],
            },
          },
        },
      ],
      ["blue/green", { ...minimal, strategy: { blueGreen: { iterations: 5 } } }],
      ["mirroring", { ...minimal, strategy: { mirroring: { iterations: 5 } } }],
      [
        "everything else set",
        {
          ...minimal,
          service: {
            name: "web",
            port: 80,
            targetPort: "http",
            portName: "http-web",
            timeout: "5s",
            retries: { attempts: 2, perTryTimeout: "1s" },
            trafficPolicy: {
              loadBalancer: "LEAST_REQUEST",
              connectTimeout: "250ms",
              circuitBreaker: { maxConnections: 100, maxRetries: 0 },
              outlierDetection: { consecutive5xx: 3 },
            },
          },
          analysis: {
            interval: "1m",
            threshold: 2,
            metrics: [
              { name: "request-success-rate", thresholdRange: { min: 99.5 } },
              { name: "request-duration", interval: "30s", thresholdRange: { max: 500 } },
              {
                name: "errors",
                thresholdRange: { min: 0, max: 1 },
                templateRef: { name: "errors", namespace: "vireo" },
                templateVariables: { route: "/api" },
              },
            ],
            webhooks: [
              { name: "smoke", type: "pre-rollout", url: "http://loadtester.demo/smoke" },
              {
                name: "gate",
                type: "confirm-promotion",
                url: "https://gate.example/approve",
                deadline: "1h",
                metadata: { team: "web" },
              },
            ],
          },
          alerts: [{ name: "team", providerRef: { name: "slack" } }],
          progressDeadlineSeconds: 300,
          skipAnalysis: false,
          suspend: true,
          revertOnDeletion: true,
          promotionWindows: [{ schedule: "0 9 * * 1-5", duration: "8h" }],
          fault: {
            abort: { percent: 5, httpStatus: 503 },
            delay: { percent: 10, fixedDelay: "2s" },
          },
        },
      ],
      [
        "checks relative to the primary, with a minimum request count",
        {
          ...minimal,
          analysis: {
            minRequests: 20,
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
      ],
      [
        "built-in checks made by the sequential judge, with margins and levels",
        {
          ...minimal,
          analysis: {
            alpha: 0.001,
            passAlpha: 0.1,
            metrics: [
              { name: "request-success-rate", maxIncrease: "1.5x" },
              { name: "request-duration", maxIncrease: "20ms" },
            ],
          },
        },
      ],
    ];
    specs.forEach(([what, spec], i) => {
      it(what, async () => {
        const body = manifest(`valid-${i}`, spec);
        const stored = await create(ns(), body, true);
        const want = parseRollout(body);
        assert.ok(want.ok, JSON.stringify(want));
        assert.deepEqual(parseRollout(stored), want);
      });
    });
  });

  describe("refuses invalid specs with a readable message", () => {
    const canary = (c: unknown) => ({ ...minimal, strategy: { canary: c } });
    const analysis = (a: unknown) => ({ ...minimal, analysis: a });
    const cases: { what: string; spec: unknown; error: string }[] = [
      {
        what: "two strategies",
        spec: {
          ...minimal,
          strategy: { canary: { stepWeight: 10 }, blueGreen: { iterations: 2 } },
        },
        error:
          'spec.strategy: Invalid value: "object": set exactly one strategy: canary, abTesting, blueGreen or mirroring',
      },
      {
        what: "no strategy",
        spec: { ...minimal, strategy: {} },
        error:
          'spec.strategy: Invalid value: "object": set exactly one strategy: canary, abTesting, blueGreen or mirroring',
      },
      {
        what: "decreasing setWeight",
        spec: canary({ steps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 20 }] }),
        error:
          'spec.strategy.canary.steps: Invalid value: "array": setWeight must not decrease from one step to the next',
      },
      {
        what: "weight 120",
        spec: canary({ steps: [{ setWeight: 120 }] }),
        error:
          "spec.strategy.canary.steps[0].setWeight: Invalid value: 120: spec.strategy.canary.steps[0].setWeight in body should be less than or equal to 100",
      },
      {
        what: "a bad duration",
        spec: analysis({ interval: "30 seconds" }),
        error:
          "spec.analysis.interval: Invalid value: \"string\": '30 seconds' is not a duration: write numbers with units ms, s, m or h, e.g. 500ms, 30s or 1m30s",
      },
      {
        what: "a pause longer than a timer can wait",
        spec: canary({ steps: [{ pause: { duration: "600h" } }] }),
        error:
          'spec.strategy.canary.steps[0].pause.duration: Invalid value: "string": must be at most 576h (24 days)',
      },
      {
        what: "an analysis interval under a second",
        spec: analysis({ interval: "500ms" }),
        error: 'spec.analysis.interval: Invalid value: "string": must be at least 1s',
      },
      {
        what: "a step with both setWeight and pause",
        spec: canary({ steps: [{ setWeight: 10, pause: { duration: "1m" } }] }),
        error:
          'spec.strategy.canary.steps[0]: Invalid value: "object": a step sets exactly one of setWeight or pause',
      },
      {
        what: "thresholdRange min above max",
        spec: analysis({
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 99, max: 90 } }],
        }),
        error:
          'spec.analysis.metrics[0].thresholdRange: Invalid value: "object": thresholdRange.min must not exceed thresholdRange.max',
      },
      {
        what: "thresholdRange without bounds",
        spec: analysis({ metrics: [{ name: "request-duration", thresholdRange: {} }] }),
        error:
          'spec.analysis.metrics[0].thresholdRange: Invalid value: "object": thresholdRange needs min, max or both',
      },
      {
        // A built-in without either is the sequential judge's; a template has no judge.
        what: "a template check with neither thresholdRange nor relativeToPrimary",
        spec: analysis({ metrics: [{ name: "errors", templateRef: { name: "errors" } }] }),
        error:
          'spec.analysis.metrics[0]: Invalid value: "object": thresholdRange is required unless relativeToPrimary is set',
      },
      {
        what: "maxIncrease on a threshold check",
        spec: analysis({
          metrics: [
            { name: "request-duration", maxIncrease: "20ms", thresholdRange: { max: 500 } },
          ],
        }),
        error:
          'spec.analysis.metrics[0]: Invalid value: "object": maxIncrease is the sequential judge\'s margin, for a built-in check without thresholdRange or relativeToPrimary',
      },
      {
        what: "relativeToPrimary without bounds",
        spec: analysis({ metrics: [{ name: "request-duration", relativeToPrimary: {} }] }),
        error:
          'spec.analysis.metrics[0].relativeToPrimary: Invalid value: "object": relativeToPrimary needs maxDecreasePoints, maxIncreasePercent or both',
      },
      {
        what: "steps and stepWeight together",
        spec: canary({ steps: [{ setWeight: 10 }], stepWeight: 10 }),
        error:
          'spec.strategy.canary: Invalid value: "object": canary needs exactly one of steps, stepWeight (with maxWeight) or stepWeights',
      },
      {
        what: "maxWeight without stepWeight",
        spec: canary({ stepWeights: [10, 20], maxWeight: 50 }),
        error:
          'spec.strategy.canary.maxWeight: Invalid value: "object": maxWeight applies only with stepWeight',
      },
      {
        what: "stepWeight above maxWeight",
        spec: canary({ stepWeight: 60, maxWeight: 50 }),
        error:
          'spec.strategy.canary.stepWeight: Invalid value: "object": stepWeight must not exceed maxWeight',
      },
      {
        what: "stepWeights not strictly increasing",
        spec: canary({ stepWeights: [10, 10, 20] }),
        error:
          'spec.strategy.canary.stepWeights: Invalid value: "array": stepWeights must be strictly increasing, e.g. [5, 10, 25, 50]',
      },
      {
        what: "a target that is not a Deployment",
        spec: { ...minimal, targetRef: { kind: "StatefulSet", name: "db" } },
        // An enum violation stops the CEL rules, and the server says so.
        error:
          '[spec.targetRef.kind: Unsupported value: "StatefulSet": supported values: "Deployment", ' +
          "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]",
      },
      {
        what: "a target name unusable as a Service name",
        spec: { ...minimal, targetRef: { kind: "Deployment", name: "web.v2" } },
        error:
          'spec.targetRef.name: Invalid value: "object": targetRef.name is also the Service name unless service.name is set, so it must then be a lowercase DNS label of at most 55 characters (room for -primary and -canary); set service.name otherwise',
      },
      {
        what: "a metric that is neither built in nor a template",
        spec: analysis({ metrics: [{ name: "latency", thresholdRange: { max: 1 } }] }),
        error:
          "spec.analysis.metrics[0]: Invalid value: \"object\": metric 'latency' has no templateRef, so it must be a built-in: request-success-rate or request-duration",
      },
      {
        what: "a metric name used twice",
        spec: analysis({
          metrics: [
            { name: "request-duration", thresholdRange: { max: 500 } },
            { name: "request-duration", thresholdRange: { max: 900 } },
          ],
        }),
        error: 'spec.analysis.metrics: Invalid value: "array": metric names must be unique',
      },
      {
        what: "a deadline on a webhook that is not a gate",
        spec: analysis({ webhooks: [{ name: "smoke", url: "http://t/", deadline: "1m" }] }),
        error:
          'spec.analysis.webhooks[0].deadline: Invalid value: "object": deadline applies only to the confirm-rollout, confirm-traffic-increase and confirm-promotion gates',
      },
      {
        what: "a webhook URL that is not http",
        spec: analysis({ webhooks: [{ name: "smoke", url: "loadtester.demo/smoke" }] }),
        error:
          'spec.analysis.webhooks[0].url: Invalid value: "string": url must be an absolute http or https URL',
      },
      {
        what: "an empty A/B match",
        spec: { ...minimal, strategy: { abTesting: { iterations: 1, match: [{}] } } },
        error:
          'spec.strategy.abTesting.match[0]: Invalid value: "object": a match needs headers, uri or queryParams; an empty one would send every request to the canary',
      },
      {
        what: "a string match with two operators",
        spec: {
          ...minimal,
          strategy: {
            abTesting: {
              iterations: 1,
              match: [{ headers: { "x-a": { exact: "1", prefix: "1" } } }],
            },
          },
        },
        error:
          'spec.strategy.abTesting.match[0].headers[x-a]: Invalid value: "object": a string match sets exactly one of exact, prefix, suffix, regex or present',
      },
      {
        what: "a fault abort with two status kinds",
        spec: { ...minimal, fault: { abort: { percent: 1, httpStatus: 500, grpcStatus: 14 } } },
        error:
          'spec.fault.abort: Invalid value: "object": fault.abort sets exactly one of httpStatus or grpcStatus',
      },
    ];
    cases.forEach(({ what, spec, error }, i) => {
      it(what, async () => {
        const name = `invalid-${i}`;
        await assert.rejects(create(ns(), manifest(name, spec)), (err) => {
          assert.equal(apiMessage(err), `Rollout.vireo.dev "${name}" is invalid: ${error}`);
          return true;
        });
      });
    });
  });

  // In a namespace of its own, so that kubectl lists this one Rollout.
  describe("status and kubectl", () => {
    const kns = useNamespace("rollout-kubectl");
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    const status: RolloutStatus = {
      phase: "Progressing",
      observedGeneration: 1,
      canaryWeight: 30,
      verifiedWeight: 20,
      currentStep: 2,
      failedChecks: 1,
      iterations: 0,
      canaryRevision: "7d9f8c6b5",
      primaryRevision: "5c4b3a291",
      message: "waiting for 3 proxies to confirm weight 30",
      lastTransitionTime: tenMinutesAgo,
      stepStartedAt: tenMinutesAgo,
      waitingFor: { reason: "trafficVerified", since: tenMinutesAgo },
      conditions: [
        {
          type: "Promoted",
          status: "Unknown",
          reason: "Progressing",
          message: "New revision detected, progressing canary analysis.",
          lastTransitionTime: tenMinutesAgo,
        },
        {
          type: "Stalled",
          status: "False",
          reason: "Progressing",
          message: "",
          lastTransitionTime: tenMinutesAgo,
          observedGeneration: 1,
        },
      ],
    };

    before(async () => {
      await create(kns(), manifest("podinfo", minimal));
      await custom().patchNamespacedCustomObjectStatus(
        { ...at(kns()), name: "podinfo", body: { status: statusToWire(status) } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    });

    it("stores the status written through the subresource and reads it back", async () => {
      const got = await get(kns(), "podinfo");
      assert.deepEqual(parseStatus(got), status);
      assert.equal(got.metadata.generation, 1);
    });

    it("ignores status in an update of the main resource", async () => {
      await custom().patchNamespacedCustomObject(
        { ...at(kns()), name: "podinfo", body: { status: { phase: "Failed" } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      assert.equal((await get(kns(), "podinfo")).status?.phase, "Progressing");
    });

    it("drops status fields the schema does not know", async () => {
      await custom().patchNamespacedCustomObjectStatus(
        { ...at(kns()), name: "podinfo", body: { status: { replicas: 3 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      const got = (await get(kns(), "podinfo")).status as Record<string, unknown> | undefined;
      assert.equal(got?.replicas, undefined);
      assert.equal(got?.phase, "Progressing");
    });

    it("refuses a status with an unknown phase", async () => {
      await assert.rejects(
        custom().patchNamespacedCustomObjectStatus(
          { ...at(kns()), name: "podinfo", body: { status: { phase: "Degraded" } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
        (err) => {
          assert.match(
            apiMessage(err),
            /status\.phase: Unsupported value: "Degraded": supported values: "Initializing", /,
          );
          return true;
        },
      );
    });

    it("kubectl get rollouts shows status, weight, step, failed checks and times", () => {
      const [header, row, ...rest] = table(kubectl("get", "rollouts", "-n", kns()));
      assert.deepEqual(header, [
        "NAME",
        "STATUS",
        "WEIGHT",
        "STEP",
        "FAILED",
        "LAST TRANSITION",
        "AGE",
      ]);
      const [name, phase, weight, step, failed, lastTransition, age] = row ?? [];
      assert.deepEqual(
        [name, phase, weight, step, failed],
        ["podinfo", "Progressing", "20", "2", "1"],
      );
      // The status says ten minutes before this file loaded; other files may have run since.
      assert.match(lastTransition ?? "", /^\d+m$/);
      assert.ok(
        Number.parseInt(lastTransition ?? "0", 10) >= 10,
        `LAST TRANSITION ${lastTransition}`,
      );
      assert.match(age ?? "", /^\d+s$/);
      assert.deepEqual(rest, []);
    });

    it("-o wide adds the revisions, Stalled and the message", () => {
      const [header, row] = table(kubectl("get", "rollouts", "-n", kns(), "-o", "wide"));
      assert.deepEqual(header?.slice(5), [
        "LAST TRANSITION",
        "AGE",
        "CANARY REVISION",
        "PRIMARY REVISION",
        "STALLED",
        "MESSAGE",
      ]);
      assert.deepEqual(row?.slice(7), [
        "7d9f8c6b5",
        "5c4b3a291",
        "False",
        "waiting for 3 proxies to confirm weight 30",
      ]);
    });

    it("answers to the short name ro and to kubectl get all", () => {
      const byShortName = table(kubectl("get", "ro", "-n", kns()));
      assert.deepEqual(byShortName[0]?.[0], "NAME");
      assert.deepEqual(byShortName[1]?.slice(0, 5), ["podinfo", "Progressing", "20", "2", "1"]);
      const all = kubectl("get", "all", "-n", kns(), "-o", "name").trim().split("\n");
      assert.ok(all.includes("rollout.vireo.dev/podinfo"), all.join(", "));
    });

    it("selects by phase with a field selector", () => {
      const selected = (phase: string) =>
        kubectl("get", "ro", "-n", kns(), "-o", "name", "--field-selector", `status.phase=${phase}`)
          .trim()
          .split("\n")
          .filter((l) => l !== "");
      assert.deepEqual(selected("Progressing"), ["rollout.vireo.dev/podinfo"]);
      assert.deepEqual(selected("Failed"), []);
    });
  });
});
