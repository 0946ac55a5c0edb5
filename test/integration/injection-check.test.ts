// `vireo check` against a real API server: what it reports for a partial install (no controller
// Deployment, no webhook endpoints) and for a caBundle that is not the CA's roots.
import assert from "node:assert/strict";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { runChecks } from "../../src/cli/check.js";
import { generateCa } from "../../src/pki/ca-material.js";
import { ensureCrd } from "./crds.js";
import { cluster, useNamespace } from "./harness.js";

// Not the chart's names: an install of the chart on the same cluster keeps its own.
const RELEASE = "it-check";
const MWC = `${RELEASE}-sidecar-injector`;

describe("vireo check (real API server)", function () {
  this.timeout(60_000);
  const ns = useNamespace("check");
  // Made on first use: the root hook starts the cluster after the suites are declared.
  const admissionApi = () => cluster().kc.makeApiClient(AdmissionregistrationV1Api);
  const ca = generateCa("cluster.local", Date.now());
  const bundle = ca.material.roots.join("");
  const apis = () => ({
    core: cluster().core,
    apps: cluster().apps,
    ext: cluster().kc.makeApiClient(ApiextensionsV1Api),
    admission: admissionApi(),
    discovery: cluster().discovery,
  });
  const run = async () =>
    Object.fromEntries(
      (
        await runChecks(apis(), {
          namespace: ns(),
          release: RELEASE,
          now: Date.now(),
          installOnly: true, // the data plane is checked end to end (releases.test.ts)
        })
      ).map((r) => [r.name, r]),
    );

  before(async () => {
    for (const f of [
      "rollouts.vireo.dev.yaml",
      "metrictemplates.vireo.dev.yaml",
      "alertproviders.vireo.dev.yaml",
      "peerauthentications.vireo.dev.yaml",
      "authorizationpolicies.vireo.dev.yaml",
    ]) {
      await ensureCrd(f);
    }
    await cluster().core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: "vireo-ca" }, stringData: { ...ca.data } },
    });
    await cluster().core.createNamespacedConfigMap({
      namespace: ns(),
      body: { metadata: { name: "vireo-ca-root-cert" }, data: { "root-cert.pem": bundle } },
    });
    await admissionApi()
      .deleteMutatingWebhookConfiguration({ name: MWC })
      .catch(() => undefined);
    await admissionApi().createMutatingWebhookConfiguration({
      body: {
        metadata: { name: MWC },
        webhooks: [
          {
            name: "namespace.sidecar-injector.vireo.dev",
            admissionReviewVersions: ["v1"],
            sideEffects: "None",
            failurePolicy: "Fail",
            clientConfig: {
              url: "https://127.0.0.1:1/inject",
              caBundle: Buffer.from(bundle).toString("base64"),
            },
            // Matches nothing: this test must not affect pods of other tests.
            namespaceSelector: { matchLabels: { "vireo.dev/check-test": "never" } },
            rules: [
              { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] },
            ],
          },
        ],
      },
    });
  });
  after(async () => {
    await admissionApi()
      .deleteMutatingWebhookConfiguration({ name: MWC })
      .catch(() => undefined);
  });

  it("a partial install: CRDs, CA and webhook pass; the missing controller and endpoints fail", async () => {
    const r = await run();
    assert.equal(r["CRDs installed and established"]?.ok, true);
    assert.equal(r["CA root healthy"]?.ok, true, r["CA root healthy"]?.detail);
    assert.equal(
      r["injection webhook configured"]?.ok,
      true,
      r["injection webhook configured"]?.detail,
    );
    assert.deepEqual(
      { ...r["controller Deployment ready"] },
      {
        name: "controller Deployment ready",
        ok: false,
        detail: `deployments.apps "${RELEASE}" not found`,
      },
    );
    assert.equal(r["injection webhook has ready endpoints"]?.ok, false);
  });

  it("a caBundle that is not the CA's roots fails", async () => {
    const other = generateCa("cluster.local", Date.now()).material.roots.join("");
    await admissionApi().patchMutatingWebhookConfiguration(
      {
        name: MWC,
        body: [
          {
            op: "replace",
            path: "/webhooks/0/clientConfig/caBundle",
            value: Buffer.from(other).toString("base64"),
          },
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const r = await run();
    assert.equal(r["injection webhook configured"]?.ok, false);
    assert.match(
      r["injection webhook configured"]?.detail ?? "",
      /caBundle differs from the CA's roots/,
    );
  });
});
