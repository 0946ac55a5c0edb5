// Peer headers: the source proxy names its workload on requests, the destination proxy names its
// own on responses, each strips the other's, and forged or malformed values are not believed.
import assert from "node:assert/strict";
import { proxyIdentity } from "../../../mesh/telemetry/identity.js";
import {
  peerExchange,
  readDestinationPeer,
  readSourcePeer,
  stripPeerHeaders,
  withDestinationPeer,
  withSourcePeer,
} from "../../../mesh/telemetry/peer-headers.js";

const frontend = proxyIdentity({ workload: "frontend", namespace: "web" });
const podinfo = proxyIdentity({
  workload: "podinfo-primary",
  namespace: "demo",
  labels: { "app.kubernetes.io/version": "6.1.0" },
});

describe("mesh telemetry: peer headers", () => {
  it("outbound: replaces whatever peer headers the app sent with the proxy's own", () => {
    const app = {
      accept: "*/*",
      "x-vireo-source-workload": "forged",
      "x-vireo-destination-workload": "forged",
    };
    assert.deepEqual(withSourcePeer(app, frontend), {
      accept: "*/*",
      "x-vireo-source-workload": "frontend",
      "x-vireo-source-namespace": "web",
    });
    assert.equal(app["x-vireo-source-workload"], "forged", "the input is not modified");
  });

  it("inbound: reads the source workload, then strips it before the app", () => {
    const received = withSourcePeer({ "content-type": "text/plain" }, frontend);
    assert.deepEqual(readSourcePeer(received), { workload: "frontend", namespace: "web" });
    assert.deepEqual(stripPeerHeaders(received), { "content-type": "text/plain" });
  });

  it("inbound response: the app's peer headers replaced by the destination's own", () => {
    const app = { "content-length": 12, "x-vireo-source-workload": "x" };
    assert.deepEqual(withDestinationPeer(app, podinfo), {
      "content-length": 12,
      "x-vireo-destination-workload": "podinfo-primary",
      "x-vireo-destination-namespace": "demo",
      "x-vireo-destination-version": "6.1.0",
    });
  });

  it("outbound response: reads the destination workload and version, then strips them", () => {
    const upstream = withDestinationPeer({ server: "podinfo" }, podinfo);
    assert.deepEqual(readDestinationPeer(upstream), {
      workload: "podinfo-primary",
      namespace: "demo",
      version: "6.1.0",
    });
    assert.deepEqual(stripPeerHeaders(upstream), { server: "podinfo" });
    const noVersion = { "x-vireo-destination-workload": "a", "x-vireo-destination-namespace": "b" };
    assert.deepEqual(readDestinationPeer(noVersion), { workload: "a", namespace: "b" });
  });

  it("peerExchange: one hop, source proxy to destination proxy and back", () => {
    const out = peerExchange("outbound", frontend);
    const inb = peerExchange("inbound", podinfo);
    const sent = out.request({ accept: "*/*", "x-vireo-source-workload": "forged" });
    assert.equal(sent.peer, undefined);
    const arrived = inb.request(sent.headers);
    assert.deepEqual(arrived.peer, { workload: "frontend", namespace: "web" });
    assert.deepEqual(arrived.headers, { accept: "*/*" }, "what the destination app sees");
    const answered = inb.response({ "content-type": "text/plain" });
    assert.equal(answered.peer, undefined);
    const returned = out.response(answered.headers);
    assert.deepEqual(returned.peer, {
      workload: "podinfo-primary",
      namespace: "demo",
      version: "6.1.0",
    });
    assert.deepEqual(
      returned.headers,
      { "content-type": "text/plain" },
      "what the source app sees",
    );
    const gateway = peerExchange("gateway", frontend).request<Record<string, string>>({});
    assert.equal(gateway.headers["x-vireo-source-workload"], "frontend");
  });

  it("returns the same object when there is nothing to strip", () => {
    const h = { a: "1" };
    assert.equal(stripPeerHeaders(h), h);
  });

  const bad: [string, Record<string, string | string[]>][] = [
    ["no headers", {}],
    ["workload without namespace", { "x-vireo-source-workload": "a" }],
    ["a repeated header", { "x-vireo-source-workload": "a, b", "x-vireo-source-namespace": "n" }],
    ["an array", { "x-vireo-source-workload": ["a", "b"], "x-vireo-source-namespace": "n" }],
    ["spaces", { "x-vireo-source-workload": "a b", "x-vireo-source-namespace": "n" }],
    ["quotes", { "x-vireo-source-workload": 'a"}', "x-vireo-source-namespace": "n" }],
    ["a leading dash", { "x-vireo-source-workload": "-a", "x-vireo-source-namespace": "n" }],
    ["too long", { "x-vireo-source-workload": "a".repeat(254), "x-vireo-source-namespace": "n" }],
  ];
  for (const [what, headers] of bad) {
    it(`does not believe a source peer with ${what}`, () => {
      assert.equal(readSourcePeer(headers), undefined);
    });
  }

  it("accepts a single-element array, as some header objects hold values", () => {
    const h = { "x-vireo-source-workload": ["a"], "x-vireo-source-namespace": "n" };
    assert.deepEqual(readSourcePeer(h), { workload: "a", namespace: "n" });
  });
});
