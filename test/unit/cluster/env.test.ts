import assert from "node:assert/strict";
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";
import { buildEnv, expand, fieldValue } from "../../cluster/node-agent/env.js";
import type { ObjectSource } from "../../cluster/node-agent/sources.js";

const pod: V1Pod = {
  metadata: { name: "web-1", namespace: "shop", uid: "abc", labels: { app: "web", tier: "front" } },
  spec: { containers: [], serviceAccountName: "web", nodeName: "vireo-node" },
};
const info = { podIP: "10.244.0.9", hostIP: "10.244.0.1", apiHost: "10.244.0.1", apiPort: 443 };

/** In-memory ObjectSource: the port the agent reads ConfigMaps and Secrets through. */
function source(cms: V1ConfigMap[], secrets: V1Secret[]): ObjectSource {
  return {
    configMap: (ns, name) =>
      Promise.resolve(cms.find((c) => c.metadata?.namespace === ns && c.metadata.name === name)),
    secret: (ns, name) =>
      Promise.resolve(
        secrets.find((s) => s.metadata?.namespace === ns && s.metadata.name === name),
      ),
    token: () => Promise.resolve({ token: "t", expiresAt: 0 }),
  };
}

const cm: V1ConfigMap = {
  metadata: { name: "cfg", namespace: "shop" },
  data: { MODE: "fast", LEVEL: "2" },
};
const secret: V1Secret = {
  metadata: { name: "creds", namespace: "shop" },
  data: { password: Buffer.from("s3cret").toString("base64") },
};

describe("node agent environment", () => {
  it("reads the downward API", () => {
    assert.equal(fieldValue(pod, info, "metadata.name"), "web-1");
    assert.equal(fieldValue(pod, info, "status.podIP"), "10.244.0.9");
    assert.equal(fieldValue(pod, info, "spec.serviceAccountName"), "web");
    assert.equal(fieldValue(pod, info, "metadata.labels['app']"), "web");
    assert.equal(fieldValue(pod, info, "metadata.labels"), 'app="web"\ntier="front"');
    assert.equal(fieldValue(pod, info, "spec.bogus"), undefined);
  });

  it("expands $(VAR) references and $$ escapes", () => {
    const vars = new Map([["A", "x"]]);
    assert.equal(expand("$(A)-$(B)-$$(A)", vars), "x-$(B)-$(A)");
  });

  it("builds env from values, fields, ConfigMaps, Secrets and envFrom, in order", async () => {
    const c: V1Container = {
      name: "app",
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "URL", value: "http://$(POD_IP):8080" },
        { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
        { name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "MODE" } } },
        { name: "OPT", valueFrom: { configMapKeyRef: { name: "nope", key: "x", optional: true } } },
      ],
    };
    const env = await buildEnv(pod, c, info, source([cm], [secret]), "/usr/bin");
    assert.equal(env.get("POD_NAME"), "web-1");
    assert.equal(env.get("URL"), "http://10.244.0.9:8080");
    assert.equal(env.get("PASSWORD"), "s3cret");
    assert.equal(env.get("MODE"), "fast");
    assert.equal(env.get("CFG_LEVEL"), "2");
    assert.equal(env.has("OPT"), false);
    assert.equal(env.get("KUBERNETES_SERVICE_HOST"), "10.244.0.1");
    assert.equal(env.get("KUBERNETES_SERVICE_PORT"), "443");
    assert.equal(env.get("PATH"), "/usr/bin");
  });

  it("refuses a missing ConfigMap key with the kubelet's reason", async () => {
    const c: V1Container = {
      name: "app",
      env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "MISSING" } } }],
    };
    await assert.rejects(buildEnv(pod, c, info, source([cm], []), "/bin"), {
      reason: "CreateContainerConfigError",
      message: 'env X: key "MISSING" of configmap "cfg" not found',
    });
  });
});
