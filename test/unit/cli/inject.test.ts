import assert from "node:assert/strict";
import { loadAllYaml } from "@kubernetes/client-node";
import { injectManifests } from "../../../src/cli/inject.js";
import { DEFAULT_INJECT_CONFIG } from "../../../src/inject/config.js";

interface Any {
  [k: string]: Any | undefined;
}

const config = { ...DEFAULT_INJECT_CONFIG, proxyImage: "reg/proxy:9" };
const spec = "{containers: [{name: app, image: app:1, ports: [{containerPort: 8080}]}]}";
const initNames = (t: Any | undefined): unknown =>
  (t?.spec?.initContainers as unknown as { name: string }[] | undefined)?.map((c) => c.name);

describe("vireo inject (offline)", () => {
  it("injects every kind of pod template and leaves other objects alone", () => {
    const input = [
      `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {template: {metadata: {labels: {app: d}}, spec: ${spec}}}}`,
      `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: s}, spec: {template: {spec: ${spec}}}}`,
      `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: ds}, spec: {template: {spec: ${spec}}}}`,
      `{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: rs}, spec: {template: {spec: ${spec}}}}`,
      `{apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec: ${spec}}}}`,
      `{apiVersion: batch/v1, kind: CronJob, metadata: {name: c}, spec: {jobTemplate: {spec: {template: {spec: ${spec}}}}}}`,
      `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: ${spec}}`,
      `{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Pod, metadata: {name: q}, spec: ${spec}}]}`,
      `{apiVersion: v1, kind: Service, metadata: {name: svc}, spec: {ports: [{port: 80}]}}`,
    ].join("\n---\n");
    const out = injectManifests(input, config);
    assert.deepEqual(out.notes, []);
    const docs = loadAllYaml(out.yaml) as Any[];
    assert.equal(docs.length, 9);
    const want = ["vireo-init", "vireo-proxy"];
    for (const d of docs.slice(0, 5)) assert.deepEqual(initNames(d.spec?.template), want);
    assert.deepEqual(initNames(docs[5]?.spec?.jobTemplate?.spec?.template), want);
    assert.deepEqual(initNames(docs[6]), want);
    assert.deepEqual(initNames((docs[7]?.items as unknown as Any[])[0]), want);
    assert.deepEqual(docs[8], loadAllYaml(input)[8]);
    assert.equal(docs[0]?.spec?.template?.metadata?.labels?.app, "d");
    assert.equal(docs[0]?.spec?.template?.metadata?.namespace, undefined);
    const proxy = (docs[6]?.spec?.initContainers as unknown as { image: string }[])[1];
    assert.equal(proxy?.image, "reg/proxy:9");
  });

  it("running it twice changes nothing the second time", () => {
    const once = injectManifests(
      `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: ${spec}}`,
      config,
    );
    const twice = injectManifests(once.yaml, config);
    assert.equal(twice.yaml, once.yaml);
    assert.match(twice.notes[0] ?? "", /Pod p: skipped \(AlreadyInjected\)/);
  });

  it("says which pods were not injected and why", () => {
    const out = injectManifests(
      `{apiVersion: v1, kind: Pod, metadata: {name: h, namespace: n}, spec: {hostNetwork: true, containers: [{name: a, image: a}]}}\n---\n` +
        `{apiVersion: v1, kind: Pod, metadata: {name: b, annotations: {traffic.vireo.dev/excludeOutboundPorts: x}}, spec: ${spec}}`,
      config,
    );
    assert.deepEqual(out.notes, [
      "Pod n/h: skipped (HostNetwork): the pod uses the host's network; capture would change the node",
      'Pod b: NOT injected (BadAnnotation): traffic.vireo.dev/excludeOutboundPorts: "x" is not a port number (1-65535)',
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ["not YAML", "kind: [", /not YAML or JSON/],
    ["not an object", "- a\n- b", /not a Kubernetes object/],
    ["no kind", "{metadata: {name: x}}", /no apiVersion or kind/],
    [
      "a Deployment without template",
      "{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {}}",
      /Deployment d has no spec.template/,
    ],
  ];
  for (const [name, text, re] of bad) {
    it(`refuses ${name} with a clear error`, () => {
      assert.throws(() => injectManifests(text, config), re);
    });
  }
});
