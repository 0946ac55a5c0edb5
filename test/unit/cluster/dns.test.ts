import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import {
  DEFAULT_CLUSTER_DNS,
  formatResolvConf,
  parseResolvConf,
  podResolvConf,
} from "../../cluster/node-agent/dns.js";

const host = parseResolvConf(
  "# host\nnameserver 10.255.255.53\nsearch corp.example\noptions rotate\n",
);
const pod = (spec: V1Pod["spec"]): V1Pod => ({
  metadata: { name: "p", namespace: "demo" },
  spec: { containers: [], ...spec },
});

describe("pod resolv.conf (kubelet rules)", () => {
  it("ClusterFirst (the default): cluster DNS, the namespace's search path, then the host's, ndots:5", () => {
    const text = formatResolvConf(
      podResolvConf(pod({ containers: [] }), DEFAULT_CLUSTER_DNS, host),
    );
    assert.equal(
      text,
      "nameserver 10.96.0.10\n" +
        "search demo.svc.cluster.local svc.cluster.local cluster.local corp.example\n" +
        "options ndots:5\n",
    );
  });

  it("Default copies the host's file; so does ClusterFirst on the host network", () => {
    const expected = "nameserver 10.255.255.53\nsearch corp.example\noptions rotate\n";
    for (const spec of [
      { containers: [], dnsPolicy: "Default" },
      { containers: [], hostNetwork: true },
    ]) {
      assert.equal(formatResolvConf(podResolvConf(pod(spec), DEFAULT_CLUSTER_DNS, host)), expected);
    }
    const withHostNet = pod({
      containers: [],
      hostNetwork: true,
      dnsPolicy: "ClusterFirstWithHostNet",
    });
    assert.deepEqual(podResolvConf(withHostNet, DEFAULT_CLUSTER_DNS, host).nameservers, [
      "10.96.0.10",
    ]);
  });

  it("None takes dnsConfig alone; dnsConfig adds to the others and overrides options by name", () => {
    const none = pod({
      containers: [],
      dnsPolicy: "None",
      dnsConfig: {
        nameservers: ["10.244.0.1"],
        searches: ["a.b"],
        options: [{ name: "ndots", value: "1" }],
      },
    });
    assert.equal(
      formatResolvConf(podResolvConf(none, DEFAULT_CLUSTER_DNS, host)),
      "nameserver 10.244.0.1\nsearch a.b\noptions ndots:1\n",
    );
    const added = pod({
      containers: [],
      dnsConfig: {
        searches: ["svc.cluster.local", "extra.local"],
        options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
      },
    });
    const conf = podResolvConf(added, DEFAULT_CLUSTER_DNS, host);
    assert.deepEqual(conf.searches, [
      "demo.svc.cluster.local",
      "svc.cluster.local",
      "cluster.local",
      "corp.example",
      "extra.local",
    ]);
    assert.deepEqual(conf.options, ["ndots:2", "edns0"]);
  });
});
