import assert from "node:assert/strict";
import type { V1Deployment } from "@kubernetes/client-node";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import {
  apexServesTarget,
  givenBackApex,
  primaryDeployment,
  rolloutService,
  selectorLabel,
} from "../../../src/workloads/primary.js";
import { configRefs, revisionOf } from "../../../src/workloads/revision.js";

const target: V1Deployment = {
  metadata: { name: "podinfo", namespace: "demo", labels: { team: "a" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "podinfo" } },
    template: {
      metadata: { labels: { app: "podinfo" } },
      spec: {
        containers: [
          {
            name: "app",
            image: "podinfo:6.0",
            env: [
              { name: "MODE", valueFrom: { configMapKeyRef: { name: "settings", key: "mode" } } },
            ],
            envFrom: [{ secretRef: { name: "creds" } }],
          },
        ],
        volumes: [
          { name: "cfg", configMap: { name: "files" } },
          { name: "api", projected: { sources: [{ configMap: { name: "kube-root-ca.crt" } }] } },
          { name: "vireo-ca", configMap: { name: "vireo-ca-root-cert" } },
        ],
      },
    },
  },
};

describe("workloads", () => {
  it("finds the selector label Flagger would use, or names the ones it looked for", () => {
    assert.deepEqual(selectorLabel(target), { key: "app", value: "podinfo" });
    assert.deepEqual(
      selectorLabel({ spec: { selector: { matchLabels: { tier: "x" } }, template: {} } }),
      {
        error: "spec.selector.matchLabels must contain one of app, name, app.kubernetes.io/name",
      },
    );
  });

  it("lists the ConfigMaps and Secrets a pod reads, without the root CA", () => {
    const refs = configRefs(target.spec?.template.spec);
    assert.deepEqual([...refs.configMaps].sort(), ["files", "settings"]);
    assert.deepEqual([...refs.secrets], ["creds"]);
  });

  it("changes the revision when the template or referenced data changes, not on key order", () => {
    const base = revisionOf(target.spec?.template, [
      { kind: "ConfigMap", name: "settings", data: { mode: "a", x: "1" } },
    ]);
    assert.match(base, /^[0-9a-f]{10}$/);
    assert.equal(
      revisionOf(target.spec?.template, [
        { kind: "ConfigMap", name: "settings", data: { x: "1", mode: "a" } },
      ]),
      base,
    );
    assert.notEqual(
      revisionOf(target.spec?.template, [
        { kind: "ConfigMap", name: "settings", data: { mode: "b", x: "1" } },
      ]),
      base,
    );
    const newImage = structuredClone(target.spec?.template);
    if (newImage?.spec?.containers[0] !== undefined)
      newImage.spec.containers[0].image = "podinfo:6.1";
    assert.notEqual(
      revisionOf(newImage, [{ kind: "ConfigMap", name: "settings", data: { mode: "a", x: "1" } }]),
      base,
    );
  });

  it("builds the primary with its own selector and its own copies of the configuration", () => {
    const refs = configRefs(target.spec?.template.spec);
    const p = primaryDeployment({
      target,
      rolloutName: "podinfo",
      revision: "abc",
      ...refs,
      replicas: 2,
    });
    assert.ok(!("error" in p));
    assert.equal(p.metadata?.name, "podinfo-primary");
    assert.deepEqual(p.spec?.selector.matchLabels, { app: "podinfo-primary" });
    assert.equal(p.spec?.template.metadata?.labels?.app, "podinfo-primary");
    assert.equal(p.spec?.template.metadata?.annotations?.["vireo.dev/revision"], "abc");
    const c = p.spec?.template.spec?.containers[0];
    assert.equal(c?.env?.[0]?.valueFrom?.configMapKeyRef?.name, "settings-primary");
    assert.equal(c?.envFrom?.[0]?.secretRef?.name, "creds-primary");
    assert.equal(p.spec?.template.spec?.volumes?.[0]?.configMap?.name, "files-primary");
    assert.equal(
      p.spec?.template.spec?.volumes?.[1]?.projected?.sources?.[0]?.configMap?.name,
      "kube-root-ca.crt",
      "the root CA is shared, not copied",
    );
    assert.equal(
      p.spec?.template.spec?.volumes?.[2]?.configMap?.name,
      "vireo-ca-root-cert",
      "the mesh's root CA is shared, not copied",
    );
    assert.equal(
      target.spec?.template.spec?.containers[0]?.env?.[0]?.valueFrom?.configMapKeyRef?.name,
      "settings",
      "target untouched",
    );
  });

  it("points the apex and primary Services at primary pods and the canary Service at target pods", () => {
    const svc = { name: "podinfo", port: 9898, targetPort: "http", portName: "http" };
    const sel = { key: "app", value: "podinfo" };
    assert.deepEqual(rolloutService("apex", "demo", svc, sel, "podinfo").spec?.selector, {
      app: "podinfo-primary",
    });
    assert.deepEqual(
      rolloutService("primary", "demo", svc, sel, "podinfo").metadata?.name,
      "podinfo-primary",
    );
    const canary = rolloutService("canary", "demo", svc, sel, "podinfo");
    assert.equal(canary.metadata?.name, "podinfo-canary");
    assert.deepEqual(canary.spec?.selector, { app: "podinfo" });
    assert.deepEqual(canary.spec?.ports, [
      { name: "http", port: 9898, targetPort: "http", protocol: "TCP" },
    ]);
  });

  describe("giving the apex back on revert", () => {
    const svc = { name: "podinfo", port: 9898, targetPort: "http", portName: "http" };
    const slice = (...pods: [string, boolean][]): V1EndpointSlice => ({
      addressType: "IPv4",
      endpoints: pods.map(([name, ready], i) => ({
        addresses: [`10.244.0.${String(i + 2)}`],
        conditions: { ready },
        targetRef: { kind: "Pod", name },
      })),
    });

    it("declares the apex selecting the target's pods, without vireo's label", () => {
      assert.deepEqual(givenBackApex("demo", svc, { key: "app", value: "podinfo" }), {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "podinfo", namespace: "demo" },
        spec: {
          type: "ClusterIP",
          selector: { app: "podinfo" },
          ports: [{ name: "http", port: 9898, targetPort: "http", protocol: "TCP" }],
        },
      });
    });

    const apex = rolloutService("apex", "demo", svc, { key: "app", value: "podinfo" }, "podinfo");
    const back = givenBackApex("demo", svc, { key: "app", value: "podinfo" });
    const cases: [string, Parameters<typeof apexServesTarget>[0], V1EndpointSlice[], boolean][] = [
      ["still selecting the primary", apex, [slice(["podinfo-7d9f-abcde", true])], false],
      ["no Service", undefined, [slice(["podinfo-7d9f-abcde", true])], false],
      ["no endpoint yet", back, [], false],
      ["target pods not ready yet", back, [slice(["podinfo-7d9f-abcde", false])], false],
      [
        "endpoints still listing a primary pod",
        back,
        [slice(["podinfo-7d9f-abcde", true]), slice(["podinfo-primary-5c6b-fghij", true])],
        false,
      ],
      [
        "only target pods, one ready",
        back,
        [slice(["podinfo-7d9f-abcde", true], ["podinfo-7d9f-klmno", false])],
        true,
      ],
    ];
    for (const [name, service, slices, want] of cases) {
      it(`serves the target alone: ${name} → ${String(want)}`, () => {
        assert.equal(apexServesTarget(service, slices, target), want);
      });
    }
  });
});
