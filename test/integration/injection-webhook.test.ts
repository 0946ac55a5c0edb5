// The injection webhook against a real kube-apiserver: the webhook server runs in this process
// (as the controller runs it), reached through `clientConfig.url`; its caBundle is written by the
// injector itself. Pods stay Pending without a node agent: the Pod objects are what is checked.
import assert from "node:assert/strict";
import type { V1MutatingWebhookConfiguration, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import {
  AdmissionregistrationV1Api,
  ApiException,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { DEFAULT_INJECT_CONFIG } from "../../src/inject/config.js";
import { Injector } from "../../src/inject/injector.js";
import { CertificateAuthority } from "../../src/pki/authority.js";
import { generateCa } from "../../src/pki/ca-material.js";
import { cluster, eventually, useNamespace } from "./harness.js";

// Not the chart's name: an install of the chart on the same cluster keeps its own.
const NAME = "it-inject-sidecar-injector";

function webhookConfig(
  port: number,
  failurePolicy: "Fail" | "Ignore",
): V1MutatingWebhookConfiguration {
  const common = {
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    timeoutSeconds: 5,
    failurePolicy,
    reinvocationPolicy: "IfNeeded",
    clientConfig: { url: `https://127.0.0.1:${String(port)}/inject` },
    rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
    matchConditions: [
      {
        name: "not-host-network",
        expression: "!has(object.spec.hostNetwork) || !object.spec.hostNetwork",
      },
    ],
  };
  const notController = {
    key: "kubernetes.io/metadata.name",
    operator: "NotIn",
    values: ["vireo-system"],
  };
  return {
    metadata: { name: NAME },
    webhooks: [
      {
        ...common,
        name: "namespace.sidecar-injector.vireo.dev",
        namespaceSelector: {
          matchLabels: { "vireo.dev/inject": "enabled" },
          matchExpressions: [notController],
        },
        objectSelector: {
          matchExpressions: [{ key: "vireo.dev/inject", operator: "NotIn", values: ["disabled"] }],
        },
      },
      {
        ...common,
        name: "object.sidecar-injector.vireo.dev",
        namespaceSelector: {
          matchExpressions: [{ key: "vireo.dev/inject", operator: "DoesNotExist" }, notController],
        },
        objectSelector: { matchLabels: { "vireo.dev/inject": "enabled" } },
      },
    ],
  };
}

const appSpec: V1PodSpec = {
  containers: [
    {
      name: "app",
      image: "example/app:1",
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { httpGet: { path: "/", port: "http" } },
    },
  ],
};

const bare = (name: string, extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name, ...extra.metadata },
  spec: { ...appSpec, ...extra.spec },
});

const initNames = (p: V1Pod): string[] => (p.spec?.initContainers ?? []).map((c) => c.name);

describe("injection webhook (real API server)", function () {
  this.timeout(120_000);
  const labelled = useNamespace("inject-on");
  const unlabelled = useNamespace("inject-off");
  // Made on first use: the root hook starts the cluster after the suites are declared.
  const admissionApi = () => cluster().kc.makeApiClient(AdmissionregistrationV1Api);
  let injector: Injector | undefined;
  let port = 0;

  const startInjector = async (p: number): Promise<Injector> =>
    Injector.start({
      authority: ca,
      trustBundle: () => ca.trustBundle(),
      admission: admissionApi(),
      clock: systemClock,
      log: createLogger({ component: "inject", level: "warn" }),
      port: p,
      host: "127.0.0.1",
      namespace: "vireo-system",
      serviceName: "vireo-injector",
      configurationName: NAME,
      config: { ...DEFAULT_INJECT_CONFIG, version: "it" },
    });
  const ca = new CertificateAuthority(generateCa("cluster.local", Date.now()).material, {
    clock: systemClock,
  });

  before(async () => {
    await admissionApi()
      .deleteMutatingWebhookConfiguration({ name: NAME })
      .catch(() => undefined);
    injector = await startInjector(0);
    port = injector.port;
    // Created without a caBundle: the injector fills it in (as in the chart's install).
    await admissionApi().createMutatingWebhookConfiguration({ body: webhookConfig(port, "Fail") });
    await injector.stop();
    injector = await startInjector(port); // a restart patches the bundle at start
    await cluster().core.patchNamespace(
      {
        name: labelled(),
        body: [{ op: "add", path: "/metadata/labels/vireo.dev~1inject", value: "enabled" }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
  });
  after(async () => {
    await injector?.stop();
    await admissionApi()
      .deleteMutatingWebhookConfiguration({ name: NAME })
      .catch(() => undefined);
  });

  it("the controller wrote the caBundle into both webhooks", async () => {
    const mwc = await admissionApi().readMutatingWebhookConfiguration({ name: NAME });
    const want = Buffer.from(ca.trustBundle()).toString("base64");
    assert.deepEqual(
      mwc.webhooks?.map((w) => w.clientConfig.caBundle),
      [want, want],
    );
  });

  it("a Deployment's pod in a labelled namespace comes back injected", async () => {
    await cluster().apps.createNamespacedDeployment({
      namespace: labelled(),
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: appSpec },
        },
      },
    });
    const pod = await eventually("the ReplicaSet's pod", async () => {
      const l = await cluster().core.listNamespacedPod({
        namespace: labelled(),
        labelSelector: "app=web",
      });
      return l.items[0];
    });
    assert.deepEqual(initNames(pod), ["vireo-init", "vireo-proxy"]);
    assert.equal(pod.spec?.initContainers?.[1]?.restartPolicy, "Always");
    assert.deepEqual(
      { ...pod.spec?.containers[0]?.readinessProbe?.httpGet },
      {
        path: "/app-health/app/readyz",
        port: 15020,
        scheme: "HTTP",
      },
    );
    assert.ok(pod.metadata?.annotations?.["sidecar.vireo.dev/status"]);
    assert.deepEqual(
      pod.spec?.volumes?.map((v) => v.name).filter((n) => n.startsWith("vireo-")),
      ["vireo-ca", "vireo-token"],
    );
  });

  it("injecting twice is a no-op: an injected pod created again keeps one proxy", async () => {
    const l = await cluster().core.listNamespacedPod({
      namespace: labelled(),
      labelSelector: "app=web",
    });
    const first = l.items[0];
    assert.ok(first?.spec !== undefined);
    const again = await cluster().core.createNamespacedPod({
      namespace: labelled(),
      body: {
        metadata: { name: "again", annotations: first.metadata?.annotations },
        spec: { ...first.spec, nodeName: undefined },
      },
    });
    assert.deepEqual(initNames(again), ["vireo-init", "vireo-proxy"]);
  });

  it("unlabelled namespace, opted-out pod and hostNetwork pod are untouched; a pod label opts in", async () => {
    const core = cluster().core;
    const plain = await core.createNamespacedPod({ namespace: unlabelled(), body: bare("plain") });
    assert.deepEqual(initNames(plain), []);
    const optIn = await core.createNamespacedPod({
      namespace: unlabelled(),
      body: bare("opt-in", { metadata: { labels: { "vireo.dev/inject": "enabled" } } }),
    });
    assert.deepEqual(initNames(optIn), ["vireo-init", "vireo-proxy"]);
    const out = await core.createNamespacedPod({
      namespace: labelled(),
      body: bare("opted-out", { metadata: { annotations: { "vireo.dev/inject": "disabled" } } }),
    });
    assert.deepEqual(initNames(out), []);
    const host = await core.createNamespacedPod({
      namespace: labelled(),
      body: bare("host", { spec: { hostNetwork: true, containers: appSpec.containers } }),
    });
    assert.deepEqual(initNames(host), []);
  });

  it("webhook down: failurePolicy Fail refuses the pod, Ignore admits it uninjected", async () => {
    await injector?.stop();
    injector = undefined;
    const core = cluster().core;
    await assert.rejects(
      core.createNamespacedPod({ namespace: labelled(), body: bare("refused") }),
      (err: unknown) => {
        assert.ok(err instanceof ApiException);
        assert.equal(err.code, 500);
        assert.match(
          (JSON.parse(String(err.body)) as { message: string }).message,
          /failed calling webhook "namespace\.sidecar-injector\.vireo\.dev": failed to call webhook: .*connection refused/,
        );
        return true;
      },
    );
    await admissionApi().patchMutatingWebhookConfiguration(
      {
        name: NAME,
        body: [0, 1].map((i) => ({
          op: "replace",
          path: `/webhooks/${String(i)}/failurePolicy`,
          value: "Ignore",
        })),
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const admitted = await core.createNamespacedPod({
      namespace: labelled(),
      body: bare("admitted"),
    });
    assert.deepEqual(initNames(admitted), []);
  });
});
