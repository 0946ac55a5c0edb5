import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { FakeClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { ClusterState } from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import type { Snapshot } from "../../../src/xds/snapshot.js";
import { emptyResourceSet } from "../../../src/xds/snapshot.js";
import { mergeSlices, portProtocol, serviceModel } from "../../../src/xds/watch/convert.js";
import { SnapshotBuilder } from "../../../src/xds/watch/snapshot-builder.js";

const silent = createLogger({ component: "t", stream: new PassThrough(), level: "error" });

describe("xDS watch: conversions", () => {
  it("selects a port protocol from appProtocol, then the name prefix, like Istio", () => {
    assert.equal(portProtocol("grpc-api", undefined), "grpc");
    assert.equal(portProtocol("http2", undefined), "http2");
    assert.equal(portProtocol("web", "kubernetes.io/h2c"), "http2");
    assert.equal(portProtocol("tcp-db", undefined), "tcp");
    assert.equal(portProtocol("metrics", undefined), "http");
    assert.equal(portProtocol("dns", undefined, "UDP"), "tcp");
    assert.equal(portProtocol("httpbin", undefined), "http", "a prefix needs a dash");
  });

  it("models a Service's ports and skips ExternalName Services", () => {
    assert.deepEqual(
      serviceModel({
        metadata: { name: "podinfo", namespace: "demo" },
        spec: {
          ports: [
            { name: "http", port: 9898 },
            { name: "grpc", port: 9999 },
          ],
        },
      }),
      {
        namespace: "demo",
        name: "podinfo",
        ports: [
          { name: "http", port: 9898, protocol: "http" },
          { name: "grpc", port: 9999, protocol: "grpc" },
        ],
      },
    );
    assert.equal(
      serviceModel({ metadata: { name: "x" }, spec: { type: "ExternalName" } }),
      undefined,
    );
  });

  it("merges the slices of a Service, keeping readiness, zone and target ports", () => {
    const slice = (name: string, addrs: [string, boolean][]) => ({
      metadata: { name, namespace: "demo", labels: { "kubernetes.io/service-name": "podinfo" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080 }],
      endpoints: addrs.map(([a, ready]) => ({ addresses: [a], conditions: { ready }, zone: "z1" })),
    });
    const merged = mergeSlices([
      slice("s2", [["10.244.0.9", true]]),
      slice("s1", [
        ["10.244.0.3", true],
        ["10.244.0.4", false],
      ]),
      { metadata: { name: "orphan", namespace: "demo" }, addressType: "IPv4", endpoints: [] },
    ]);
    assert.equal(merged.length, 1);
    assert.deepEqual(
      merged[0]?.endpoints.map((e) => [e.address, e.ready, e.ports.http, e.zone]),
      [
        ["10.244.0.3", true, 8080, "z1"],
        ["10.244.0.4", false, 8080, "z1"],
        ["10.244.0.9", true, 8080, "z1"],
      ],
    );
  });
});

describe("xDS watch: snapshot builder", () => {
  function builder(clock: FakeClock, published: Snapshot[], fail = false): SnapshotBuilder {
    const state: ClusterState = { services: [], endpoints: [], routing: [] };
    return new SnapshotBuilder({
      clock,
      log: silent,
      codecs: loadXdsProtos().codecs,
      translate: () => {
        if (fail) throw new Error("boom");
        return emptyResourceSet();
      },
      state: () => state,
      publish: (s) => published.push(s),
      debounceMs: 50,
      maxDelayMs: 250,
    });
  }

  it("coalesces a burst of changes into one snapshot after the quiet time", async () => {
    const clock = new FakeClock(1_000_000);
    const published: Snapshot[] = [];
    const b = builder(clock, published);
    for (let i = 0; i < 100; i++) b.changed();
    await clock.advance(49);
    assert.equal(published.length, 0);
    await clock.advance(1);
    assert.equal(published.length, 1);
    assert.equal(published[0]?.version, 1_000_050);
  });

  it("publishes at the ceiling while changes keep coming", async () => {
    const clock = new FakeClock(0);
    const published: Snapshot[] = [];
    const b = builder(clock, published);
    for (let t = 0; t < 1000; t += 20) {
      b.changed();
      await clock.advance(20);
    }
    // One snapshot every 250 ms at most, not one per change and not none.
    assert.ok(published.length >= 3 && published.length <= 5, `${published.length} snapshots`);
    const versions = published.map((s) => s.version);
    assert.deepEqual(
      [...versions].sort((x, y) => x - y),
      versions,
      "versions increase",
    );
  });

  it("keeps the last good snapshot when translation fails", async () => {
    const clock = new FakeClock(0);
    const published: Snapshot[] = [];
    const b = builder(clock, published, true);
    b.changed();
    await clock.advance(100);
    assert.equal(published.length, 0);
    assert.equal(b.stats.failures, 1);
  });
});
