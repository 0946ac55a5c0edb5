import assert from "node:assert/strict";
import { IpAllocator, toInt, toIp } from "../../cluster/node-agent/network.js";
import { parseRelay } from "../../cluster/node-agent/relay.js";
import { scrapeTarget } from "../../cluster/node-agent/targets.js";

describe("node agent addresses", () => {
  it("converts addresses both ways", () => {
    assert.equal(toInt("10.244.0.1"), 0x0af40001);
    assert.equal(toIp(0x0af40001), "10.244.0.1");
    assert.throws(() => toInt("10.244.0"), /bad IPv4/);
  });

  it("allocates next-fit, so a released address is not handed out again at once", () => {
    const a = IpAllocator.forCidr("10.244.0.0/16");
    const first = a.allocate();
    const second = a.allocate();
    assert.deepEqual([first, second], ["10.244.0.2", "10.244.0.3"]);
    a.release(first);
    assert.equal(a.allocate(), "10.244.0.4");
  });

  it("wraps around and skips addresses in use, then reports exhaustion", () => {
    const a = IpAllocator.forCidr("10.0.0.0/29"); // .2 .. .6 usable
    const got = [1, 2, 3, 4, 5].map(() => a.allocate());
    assert.deepEqual(got, ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert.throws(() => a.allocate(), /exhausted/);
    a.release("10.0.0.4");
    assert.equal(a.allocate(), "10.0.0.4");
  });

  it("parses relay specs", () => {
    assert.deepEqual(parseRelay("443=127.0.0.1:16443", "10.244.0.1"), {
      listenHost: "10.244.0.1",
      listenPort: 443,
      targetHost: "127.0.0.1",
      targetPort: 16443,
    });
    assert.throws(() => parseRelay("443", "x"), /expected PORT=HOST:PORT/);
  });
});

describe("node agent scrape targets", () => {
  it("follows the prometheus.io annotations", () => {
    const t = scrapeTarget(
      {
        metadata: {
          name: "web-1",
          namespace: "shop",
          labels: { app: "web", "app.kubernetes.io/version": "v2" },
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9102",
            "prometheus.io/path": "/m",
          },
        },
        spec: { containers: [{ name: "a", ports: [{ containerPort: 8080 }] }] },
      },
      "10.244.0.5",
    );
    assert.deepEqual(t, {
      targets: ["10.244.0.5:9102"],
      labels: {
        __metrics_path__: "/m",
        namespace: "shop",
        pod: "web-1",
        app: "web",
        app_kubernetes_io_version: "v2",
      },
    });
  });

  it("defaults to the first container port and /metrics, and skips unannotated pods", () => {
    const spec = { containers: [{ name: "a", ports: [{ containerPort: 8080 }] }] };
    const t = scrapeTarget(
      {
        metadata: { name: "p", namespace: "n", annotations: { "prometheus.io/scrape": "true" } },
        spec,
      },
      "10.244.0.6",
    );
    assert.deepEqual(t?.targets, ["10.244.0.6:8080"]);
    assert.equal(t.labels.__metrics_path__, "/metrics");
    assert.equal(scrapeTarget({ metadata: { name: "p" }, spec }, "10.244.0.6"), undefined);
  });
});
