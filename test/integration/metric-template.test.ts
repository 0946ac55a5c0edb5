// The MetricTemplate CRD on a real kube-apiserver (defaults, refusals), the resolver reading a
// template and its Secret, and a template's check run against the local cluster's Prometheus.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { CustomObjectsApi } from "@kubernetes/client-node";
import {
  METRIC_TEMPLATE_GROUP,
  METRIC_TEMPLATE_PLURAL,
  METRIC_TEMPLATE_VERSION,
  parseMetricTemplate,
} from "../../src/analysis/metric-template.js";
import { PrometheusClient } from "../../src/analysis/prometheus.js";
import { MetricAnalysisRunner } from "../../src/analysis/runner.js";
import { KubeTemplateResolver } from "../../src/analysis/template-resolver.js";
import { HttpWebhookRunner } from "../../src/analysis/webhooks.js";
import { createLogger } from "../../src/common/logger.js";
import { apiMessage, ensureCrd } from "./crds.js";
import { cluster, prometheusURL, useNamespace } from "./harness.js";

const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

describe("MetricTemplate", function () {
  this.timeout(60_000);
  const ns = useNamespace("metric-template");
  const custom = () => cluster().kc.makeApiClient(CustomObjectsApi);
  const at = () => ({
    group: METRIC_TEMPLATE_GROUP,
    version: METRIC_TEMPLATE_VERSION,
    plural: METRIC_TEMPLATE_PLURAL,
    namespace: ns(),
  });
  const manifest = (name: string, spec: unknown) => ({
    apiVersion: `${METRIC_TEMPLATE_GROUP}/${METRIC_TEMPLATE_VERSION}`,
    kind: "MetricTemplate",
    metadata: { name },
    spec,
  });
  const create = (name: string, spec: unknown) =>
    custom().createNamespacedCustomObject({ ...at(), body: manifest(name, spec) });
  const resolver = () => new KubeTemplateResolver(custom(), cluster().core);

  before(async function () {
    this.timeout(60_000);
    await ensureCrd("metrictemplates.vireo.dev.yaml");
  });

  it("is stored with the schema's defaults, which the parser reads as it reads the manifest", async () => {
    const spec = { provider: { address: prometheusURL }, query: "vector(1)" };
    await create("defaults", spec);
    const got = (await custom().getNamespacedCustomObject({ ...at(), name: "defaults" })) as {
      spec: unknown;
    };
    assert.deepEqual(got.spec, {
      provider: { type: "prometheus", address: prometheusURL, insecureSkipVerify: false },
      query: "vector(1)",
    });
    const fromManifest = parseMetricTemplate({
      ...manifest("defaults", spec),
      metadata: { name: "defaults", namespace: ns() },
    });
    assert.deepEqual(parseMetricTemplate(got), fromManifest);
  });

  // An enum or required violation stops the CEL rules, and the server says so.
  const unchecked =
    "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";
  const refusals: { what: string; spec: unknown; error: string }[] = [
    {
      what: "an address that is not a URL",
      spec: { provider: { address: "prometheus:9090" }, query: "up" },
      error:
        "spec.provider.address: Invalid value: \"string\": 'prometheus:9090' is not an http or https URL",
    },
    {
      what: "an unknown provider type",
      spec: { provider: { type: "datadog", address: "http://p" }, query: "up" },
      error: `[spec.provider.type: Unsupported value: "datadog": supported values: "prometheus", ${unchecked}]`,
    },
    {
      what: "no query",
      spec: { provider: { address: "http://p" } },
      error: `[spec.query: Required value, ${unchecked}]`,
    },
  ];
  refusals.forEach(({ what, spec, error }, i) => {
    it(`refuses ${what}`, async () => {
      const name = `invalid-${i}`;
      await assert.rejects(create(name, spec), (err) => {
        assert.equal(apiMessage(err), `MetricTemplate.vireo.dev "${name}" is invalid: ${error}`);
        return true;
      });
    });
  });

  it("resolves a template with the credentials of its Secret, and says what is missing", async () => {
    await cluster().core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: "prom-auth" }, stringData: { token: "s3cret" } },
    });
    const provider = { address: prometheusURL, secretRef: { name: "prom-auth" } };
    await create("with-secret", { provider, query: "vector(1)" });
    await create("no-secret", {
      provider: { ...provider, secretRef: { name: "gone" } },
      query: "vector(1)",
    });
    const r = resolver();
    const ok = await r.resolve({ name: "with-secret", namespace: ns() });
    assert.deepEqual(ok.ok && ok.credentials, { auth: { kind: "bearer", token: "s3cret" } });
    assert.deepEqual(await r.resolve({ name: "no-secret", namespace: ns() }), {
      ok: false,
      message: `MetricTemplate ${ns()}/no-secret: Secret gone not found`,
    });
    assert.deepEqual(await r.resolve({ name: "nope", namespace: ns() }), {
      ok: false,
      message: `MetricTemplate ${ns()}/nope not found`,
    });
  });

  it("runs a template's check against the cluster's Prometheus", async () => {
    await create("prometheus-up", {
      provider: { address: prometheusURL },
      query: 'sum(up{job="{{ variables.job }}"})',
    });
    const runner = new MetricAnalysisRunner({
      prometheus: new PrometheusClient({ address: prometheusURL }),
      webhooks: new HttpWebhookRunner(log),
    });
    const report = await runner.run({
      namespace: ns(),
      rolloutName: "podinfo",
      targetName: "podinfo",
      primaryName: "podinfo-primary",
      service: "podinfo",
      spec: {
        intervalMs: 30_000,
        threshold: 1,
        webhooks: [],
        metrics: [
          {
            name: "prometheus-up",
            min: 1,
            templateRef: { name: "prometheus-up" },
            templateVariables: { job: "prometheus" },
          },
        ],
      },
      windowMs: 30_000,
      now: Date.now(),
      phase: "Progressing",
      revision: "abc",
      resolveTemplate: resolver().resolve,
    });
    assert.deepEqual(
      report.checks.map((c) => [c.outcome, c.message]),
      [["pass", "prometheus-up 1 >= 1"]],
    );
  });
});
