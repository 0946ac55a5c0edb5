// The CRD and the parser must agree: the same defaults, the same enums, the same duration syntax.
// Neither can import the other, so this test reads crds/rollouts.vireo.dev.yaml and compares.
import assert from "node:assert/strict";
import { ROLLOUT_DEFAULTS as D } from "../../../src/api/defaults.js";
import { DURATION_PATTERN, MAX_DURATION_MS, parseDuration } from "../../../src/api/duration.js";
import { PHASES, WEBHOOK_TYPES } from "../../../src/domain/rollout.js";
import { readCrdFile } from "../../support/crd-file.js";

interface Schema {
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  "x-kubernetes-validations"?: { rule: string }[];
}

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

const crd = readCrdFile("rollouts.vireo.dev.yaml") as Crd;
const root = crd.spec.versions[0]?.schema.openAPIV3Schema ?? assert.fail("no version");

/** Every schema node by path: `a.b` for properties, `a[]` for items, `a.*` for map values. */
function walk(s: Schema, path: string, out: Map<string, Schema>): Map<string, Schema> {
  out.set(path, s);
  for (const [k, p] of Object.entries(s.properties ?? {})) walk(p, path ? `${path}.${k}` : k, out);
  if (s.items) walk(s.items, `${path}[]`, out);
  if (typeof s.additionalProperties === "object") walk(s.additionalProperties, `${path}.*`, out);
  return out;
}

const nodes = walk(root, "", new Map());

function node(path: string): Schema {
  return nodes.get(path) ?? assert.fail(`no schema at ${path}`);
}

describe("crds/rollouts.vireo.dev.yaml", () => {
  it("has exactly the defaults the parser applies", () => {
    const defaults = Object.fromEntries(
      [...nodes].filter(([, s]) => s.default !== undefined).map(([p, s]) => [p, s.default]),
    );
    assert.deepEqual(defaults, {
      "spec.targetRef.apiVersion": D.targetApiVersion,
      "spec.service.portName": D.portName,
      "spec.service.retries.retryOn": D.retryOn,
      "spec.service.trafficPolicy.outlierDetection.consecutive5xx": D.outlierConsecutive5xx,
      "spec.service.trafficPolicy.outlierDetection.interval": D.outlierInterval,
      "spec.service.trafficPolicy.outlierDetection.baseEjectionTime": D.outlierBaseEjectionTime,
      "spec.service.trafficPolicy.outlierDetection.maxEjectionPercent": D.outlierMaxEjectionPercent,
      "spec.strategy.mirroring.mirrorPercent": D.mirrorPercent,
      // So that the defaults below it apply when analysis is left out.
      "spec.analysis": {},
      "spec.analysis.interval": D.analysisInterval,
      "spec.analysis.threshold": D.threshold,
      "spec.analysis.webhooks[].type": D.webhookType,
      "spec.analysis.webhooks[].timeout": D.webhookTimeout,
      "spec.analysis.webhooks[].retries": D.webhookRetries,
      "spec.alerts[].severity": D.alertSeverity,
      "spec.progressDeadlineSeconds": D.progressDeadlineSeconds,
      "spec.skipAnalysis": D.skipAnalysis,
      "spec.suspend": D.suspend,
      "spec.revertOnDeletion": D.revertOnDeletion,
    });
  });

  it("lists the domain's phases and webhook types", () => {
    assert.deepEqual(node("status.phase").enum, [...PHASES]);
    assert.deepEqual(node("spec.analysis.webhooks[].type").enum, [...WEBHOOK_TYPES]);
  });

  it("checks every duration field with the parser's syntax", () => {
    const durations = [
      "spec.service.timeout",
      "spec.service.retries.perTryTimeout",
      "spec.service.trafficPolicy.connectTimeout",
      "spec.service.trafficPolicy.outlierDetection.interval",
      "spec.service.trafficPolicy.outlierDetection.baseEjectionTime",
      "spec.strategy.canary.steps[].pause.duration",
      "spec.analysis.interval",
      "spec.analysis.metrics[].interval",
      "spec.analysis.webhooks[].timeout",
      "spec.analysis.webhooks[].deadline",
      "spec.promotionWindows[].duration",
      "spec.fault.delay.fixedDelay",
    ];
    const patterns = new Set<string>();
    for (const path of durations) {
      const rules = node(path)["x-kubernetes-validations"] ?? [];
      assert.ok(
        rules.some((r) => r.rule.startsWith("self.matches(")),
        `${path} has no duration rule`,
      );
      for (const { rule } of rules) {
        for (const m of rule.matchAll(/matches\('([^']*)'\)/g)) patterns.add(m[1] ?? "");
      }
      const max = rules
        .map((r) => /duration\(self\) <= duration\('([^']*)'\)/.exec(r.rule)?.[1])
        .find((m) => m !== undefined);
      assert.equal(parseDuration(max ?? ""), MAX_DURATION_MS, `${path}: limit ${String(max)}`);
    }
    assert.equal(patterns.size, 1, [...patterns].join("\n"));
    const cel = new RegExp([...patterns][0] ?? "");
    const samples = [
      "500ms",
      "30s",
      "1m30s",
      "1.5h",
      "0s",
      "1h1h",
      "30",
      "1d",
      ".5s",
      "1.s",
      "-1s",
    ];
    for (const s of samples) assert.equal(cel.test(s), DURATION_PATTERN.test(s), s);
  });
});
