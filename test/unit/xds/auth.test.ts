import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { Caller } from "../../../src/pki/caller.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import type { NodeRule } from "../../../src/xds/server/auth.js";
import { nodeNamespaceCheck } from "../../../src/xds/server/auth.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { SotwTestClient } from "../../support/ads-test-client.js";
import { fakeAuth, tokenOf } from "./fake-auth.js";
import { snapshot } from "./fixtures.js";

const silent = createLogger({ component: "xds-test", stream: new PassThrough(), level: "error" });
const demo: Caller = { kind: "token", namespace: "demo", serviceAccount: "cart" };

function node(namespace: string | undefined): object {
  return {
    node: {
      id: "sidecar~10.0.0.1~cart.demo~demo.svc.cluster.local",
      metadata:
        namespace === undefined
          ? null
          : { fields: { NAMESPACE: { kind: "stringValue", stringValue: namespace } } },
    },
  };
}

describe("xDS auth: the node's namespace", () => {
  const cases: {
    name: string;
    rule: NodeRule;
    requests: object[];
    passed: boolean[];
    failure?: grpc.status;
  }[] = [
    {
      name: "required: a first request without a node is refused",
      rule: "required",
      requests: [{}, node("demo")],
      passed: [false, false],
      failure: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "required: a first request with a null node is refused",
      rule: "required",
      requests: [{ node: null }],
      passed: [false],
      failure: grpc.status.INVALID_ARGUMENT,
    },
    {
      name: "required: the caller's namespace passes, and later requests need no node",
      rule: "required",
      requests: [node("demo"), {}],
      passed: [true, true],
    },
    {
      name: "required: another namespace is refused",
      rule: "required",
      requests: [node("default")],
      passed: [false],
      failure: grpc.status.PERMISSION_DENIED,
    },
    {
      name: "required: a node without NAMESPACE is refused",
      rule: "required",
      requests: [node(undefined)],
      passed: [false],
      failure: grpc.status.PERMISSION_DENIED,
    },
    {
      name: "optional: requests without a node pass until one names another namespace",
      rule: "optional",
      requests: [{}, {}, node("default")],
      passed: [true, true, false],
      failure: grpc.status.PERMISSION_DENIED,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const failures: [grpc.status, string][] = [];
      const check = nodeNamespaceCheck(demo, c.rule, (code, details) => {
        failures.push([code, details]);
      });
      const passed = c.requests.map((r) => failures.length === 0 && check(r));
      assert.deepEqual(passed, c.passed);
      assert.deepEqual(
        failures.map(([code]) => code),
        c.failure === undefined ? [] : [c.failure],
      );
    });
  }

  it("says what a refused first request lacked", () => {
    let details = "";
    nodeNamespaceCheck(demo, "required", (_, d) => {
      details = d;
    })({});
    assert.match(details, /first request of a stream must name a node with NAMESPACE metadata/);
    assert.match(details, /demo\/cart/);
  });
});

describe("xDS auth: an authenticated ADS stream that never names a node", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let port: number;

  beforeEach(async () => {
    server = new XdsServer({ log: silent, clock: systemClock, auth: fakeAuth() });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a"], weights: { a: 100 } }));
  });
  afterEach(async () => {
    await server.close();
  });

  it("is refused with INVALID_ARGUMENT and leaves no client behind", async () => {
    const c = new SotwTestClient(port, "no-node", { metadata: tokenOf("demo", "cart") });
    c.sendWithoutNode({ type_url: TYPE.cluster });
    const status = await c.ended;
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.details, /must name a node with NAMESPACE metadata/);
    assert.equal(await c.responses.quiet(50), true, "no configuration was sent");
    assert.deepEqual(server.clients(), []);
    c.close();
  });

  it("is served once it names its node from its own namespace", async () => {
    const c = new SotwTestClient(port, "named", {
      metadata: tokenOf("demo", "cart"),
      namespace: "demo",
    });
    c.send({ type_url: TYPE.cluster });
    const r = await c.responses.next();
    assert.equal(r.type_url, TYPE.cluster);
    c.close();
  });
});

describe("xDS without auth (--xds-insecure)", function () {
  this.timeout(10_000);

  it("still serves a stream that never names a node", async () => {
    const server = new XdsServer({ log: silent, clock: systemClock });
    const port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a"], weights: { a: 100 } }));
    const c = new SotwTestClient(port);
    c.sendWithoutNode({ type_url: TYPE.cluster });
    assert.equal((await c.responses.next()).type_url, TYPE.cluster);
    c.close();
    await server.close();
  });
});
