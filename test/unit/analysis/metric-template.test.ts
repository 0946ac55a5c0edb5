import assert from "node:assert/strict";
import type { TemplateContext } from "../../../src/analysis/metric-template.js";
import {
  credentialsFromSecret,
  METRIC_TEMPLATE_GROUP,
  METRIC_TEMPLATE_KIND,
  METRIC_TEMPLATE_PLURAL,
  METRIC_TEMPLATE_VERSION,
  parseMetricTemplate,
  PROVIDER_TYPES,
  providerOptions,
  renderQuery,
} from "../../../src/analysis/metric-template.js";
import { readCrdFile } from "../../support/crd-file.js";

const ctx: TemplateContext = {
  name: "podinfo",
  namespace: "demo",
  target: "podinfo",
  service: "web",
  interval: "1m30s",
  variables: { route: "/api", "max-age": "5m" },
};

function object(spec: unknown): unknown {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "MetricTemplate",
    metadata: { name: "errors", namespace: "demo" },
    spec,
  };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("renderQuery", () => {
  it("fills every placeholder, with or without spaces", () => {
    const q =
      "{{name}} {{ namespace }} {{  target  }} {{ service }} {{interval}} {{ variables.route }} {{variables.max-age}}";
    assert.deepEqual(renderQuery(q, ctx), {
      ok: true,
      query: "podinfo demo podinfo web 1m30s /api 5m",
    });
  });

  it("leaves PromQL's own braces alone", () => {
    const q = 'sum(rate(x{a="{{ target }}",b=~"c{1,2}"}[{{ interval }}]))';
    assert.deepEqual(renderQuery(q, ctx), {
      ok: true,
      query: 'sum(rate(x{a="podinfo",b=~"c{1,2}"}[1m30s]))',
    });
  });

  it("names the variables the check does not set", () => {
    assert.deepEqual(
      renderQuery("{{ variables.a }} {{ variables.route }} {{ variables.b }}", ctx),
      {
        ok: false,
        message:
          "the query uses variables.a, variables.b, not in templateVariables (set: route, max-age)",
      },
    );
    assert.deepEqual(renderQuery("{{ variables.a }}", { ...ctx, variables: {} }), {
      ok: false,
      message: "the query uses variables.a, not in templateVariables (none are set)",
    });
    assert.equal(renderQuery("{{ variables.toString }}", { ...ctx, variables: {} }).ok, false);
  });

  it("refuses placeholders it does not know, and unclosed ones", () => {
    const help =
      "write {{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} or {{ variables.<key> }}";
    assert.deepEqual(renderQuery("x{{ .Target }}", ctx), {
      ok: false,
      message: `unknown placeholder {{ .Target }} at offset 1: ${help}`,
    });
    assert.deepEqual(renderQuery("{{ ingress }}", ctx), {
      ok: false,
      message: `unknown placeholder {{ ingress }} at offset 0: ${help}`,
    });
    assert.deepEqual(renderQuery("{{ target }} {{ target", ctx), {
      ok: false,
      message: `a "{{" is not closed by "}}": ${help}`,
    });
  });
});

describe("parseMetricTemplate", () => {
  it("reads a template with the schema's defaults", () => {
    assert.deepEqual(
      parseMetricTemplate(
        object({
          provider: { address: "http://prometheus:9090" },
          query: "vector({{ interval }})",
        }),
      ),
      {
        ok: true,
        template: {
          namespace: "demo",
          name: "errors",
          provider: {
            type: "prometheus",
            address: "http://prometheus:9090",
            insecureSkipVerify: false,
          },
          query: "vector({{ interval }})",
        },
      },
    );
  });

  it("reads credentials and TLS options", () => {
    const r = parseMetricTemplate(
      object({
        provider: {
          type: "prometheus",
          address: "https://thanos.example/prom",
          secretRef: { name: "prom-auth" },
          insecureSkipVerify: true,
        },
        query: "up",
      }),
    );
    assert.deepEqual(r.ok && r.template.provider, {
      type: "prometheus",
      address: "https://thanos.example/prom",
      secretRef: { name: "prom-auth" },
      insecureSkipVerify: true,
    });
  });

  const refusals: { name: string; spec: unknown; message: string }[] = [
    { name: "no spec", spec: undefined, message: "spec: required" },
    { name: "no provider", spec: { query: "up" }, message: "spec.provider: required" },
    {
      name: "no address",
      spec: { provider: {}, query: "up" },
      message: "spec.provider.address: required",
    },
    {
      name: "an address that is no URL",
      spec: { provider: { address: "prometheus:9090" }, query: "up" },
      message: 'spec.provider.address: "prometheus:9090" is not an http or https URL',
    },
    {
      name: "an unknown provider",
      spec: { provider: { type: "datadog", address: "http://p" }, query: "up" },
      message: 'spec.provider.type: must be one of prometheus, got "datadog"',
    },
    {
      name: "a secretRef without a name",
      spec: { provider: { address: "http://p", secretRef: {} }, query: "up" },
      message: "spec.provider.secretRef.name: required",
    },
    {
      name: "no query",
      spec: { provider: { address: "http://p" } },
      message: "spec.query: required",
    },
    {
      name: "an unknown placeholder",
      spec: { provider: { address: "http://p" }, query: "up{a='{{ canary }}'}" },
      message:
        "spec.query: unknown placeholder {{ canary }} at offset 6: write {{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} or {{ variables.<key> }}",
    },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(parseMetricTemplate(object(c.spec)), {
        ok: false,
        reason: "InvalidSpec",
        message: c.message,
      });
    });
  }
});

describe("credentialsFromSecret", () => {
  const cases: { name: string; data: Record<string, string> | undefined; want: unknown }[] = [
    {
      name: "a token is a bearer token",
      data: { token: b64("t0ken") },
      want: { ok: true, credentials: { auth: { kind: "bearer", token: "t0ken" } } },
    },
    {
      name: "username and password are basic auth, with a CA",
      data: { username: b64("u"), password: b64("p"), "ca.crt": b64("PEM") },
      want: {
        ok: true,
        credentials: { auth: { kind: "basic", username: "u", password: "p" }, ca: "PEM" },
      },
    },
    {
      name: "a CA alone",
      data: { "ca.crt": b64("PEM") },
      want: { ok: true, credentials: { ca: "PEM" } },
    },
    {
      name: "both kinds",
      data: { token: b64("t"), username: b64("u"), password: b64("p") },
      want: {
        ok: false,
        message: "Secret prom-auth has both token and username/password: keep one",
      },
    },
    {
      name: "a username alone",
      data: { username: b64("u") },
      want: { ok: false, message: "Secret prom-auth has username without password" },
    },
    {
      name: "nothing usable",
      data: undefined,
      want: {
        ok: false,
        message: "Secret prom-auth has none of token, username and password, ca.crt",
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(credentialsFromSecret("prom-auth", c.data), c.want);
    });
  }

  it("turns into client options", () => {
    assert.deepEqual(
      providerOptions(
        { type: "prometheus", address: "https://p", insecureSkipVerify: true },
        { auth: { kind: "bearer", token: "t" }, ca: "PEM" },
      ),
      {
        address: "https://p",
        auth: { kind: "bearer", token: "t" },
        tls: { insecureSkipVerify: true, ca: "PEM" },
      },
    );
  });
});

interface Schema {
  default?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  "x-kubernetes-validations"?: { rule: string }[];
}

describe("crds/metrictemplates.vireo.dev.yaml", () => {
  const crd = readCrdFile("metrictemplates.vireo.dev.yaml") as {
    spec: {
      group: string;
      names: { kind: string; plural: string };
      versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
    };
  };
  const version = crd.spec.versions[0] ?? assert.fail("no version");
  const spec = version.schema.openAPIV3Schema.properties?.spec ?? assert.fail("no spec");
  const provider = spec.properties?.provider ?? assert.fail("no provider");
  const p = (name: string) => provider.properties?.[name] ?? assert.fail(`no ${name}`);

  it("names the resource as the code does", () => {
    assert.deepEqual(
      [crd.spec.group, version.name, crd.spec.names.kind, crd.spec.names.plural],
      [
        METRIC_TEMPLATE_GROUP,
        METRIC_TEMPLATE_VERSION,
        METRIC_TEMPLATE_KIND,
        METRIC_TEMPLATE_PLURAL,
      ],
    );
  });

  it("has the parser's provider types, defaults and required fields", () => {
    assert.deepEqual(p("type").enum, [...PROVIDER_TYPES]);
    assert.equal(p("type").default, "prometheus");
    assert.equal(p("insecureSkipVerify").default, false);
    assert.deepEqual(spec.required, ["provider", "query"]);
    assert.deepEqual(provider.required, ["address"]);
  });

  it("checks addresses as the parser does", () => {
    const rule = p("address")["x-kubernetes-validations"]?.[0]?.rule ?? "";
    const pattern = /matches\('(.*)'\)/.exec(rule)?.[1]?.replaceAll("\\\\", "\\") ?? "";
    const cel = new RegExp(pattern);
    for (const address of [
      "http://prometheus:9090",
      "https://thanos.example/prom",
      "prometheus:9090",
      "ftp://x",
      "http://",
      "http:// x",
    ]) {
      const parsed = parseMetricTemplate(object({ provider: { address }, query: "up" })).ok;
      assert.equal(cel.test(address), parsed, address);
    }
  });
});
