import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { Caller } from "../../../src/pki/caller.js";
import type { ClientStatusDiscoveryServiceClient } from "../../../src/xds/generated/envoy/service/status/v3/ClientStatusDiscoveryService.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import type { CsdsScope, ServiceAccountRef } from "../../../src/xds/server/csds.js";
import { csdsScope } from "../../../src/xds/server/csds.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { SotwTestClient } from "../../support/ads-test-client.js";
import { fakeAuth, tokenOf } from "./fake-auth.js";
import { snapshot } from "./fixtures.js";

const silent = createLogger({ component: "xds-test", stream: new PassThrough(), level: "error" });
const admin: ServiceAccountRef = { namespace: "vireo-system", serviceAccount: "vireo" };

const token = (namespace: string, serviceAccount: string): Caller => ({
  kind: "token",
  namespace,
  serviceAccount,
});
const certificate = (namespace: string, serviceAccount: string): Caller => ({
  kind: "certificate",
  identity: { trustDomain: "cluster.local", namespace, serviceAccount },
});

describe("CSDS scope", () => {
  const cases: [string, Caller | undefined, ServiceAccountRef | undefined, CsdsScope][] = [
    ["no authentication (--xds-insecure): all", undefined, admin, { kind: "all" }],
    [
      "a token: its own namespace",
      token("demo", "cart"),
      admin,
      { kind: "namespace", namespace: "demo" },
    ],
    ["the controller's token: all", token("vireo-system", "vireo"), admin, { kind: "all" }],
    [
      "the controller's certificate: all",
      certificate("vireo-system", "vireo"),
      admin,
      { kind: "all" },
    ],
    [
      "another account of the controller's namespace: that namespace",
      token("vireo-system", "other"),
      admin,
      { kind: "namespace", namespace: "vireo-system" },
    ],
    [
      "the admin's name in another namespace: that namespace",
      certificate("demo", "vireo"),
      admin,
      { kind: "namespace", namespace: "demo" },
    ],
    [
      "no admin configured: its own namespace",
      token("vireo-system", "vireo"),
      undefined,
      { kind: "namespace", namespace: "vireo-system" },
    ],
  ];
  for (const [name, caller, a, want] of cases) {
    it(name, () => {
      assert.deepEqual(csdsScope(caller, a), want);
    });
  }
});

interface Dump {
  readonly config: readonly { readonly node: { readonly id: string } | null }[];
}

describe("CSDS with authentication: a caller reads its own namespace's clients", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let port: number;
  let csds: ClientStatusDiscoveryServiceClient;
  const proxies: SotwTestClient[] = [];

  const connect = async (namespace: string, nodeId: string): Promise<void> => {
    const c = new SotwTestClient(port, nodeId, {
      metadata: tokenOf(namespace, "cart"),
      namespace,
    });
    proxies.push(c);
    c.send({ type_url: TYPE.cluster });
    c.ack(await c.responses.next());
  };

  const fetchNodes = (md: grpc.Metadata, req: object = {}): Promise<string[]> =>
    new Promise((resolve, reject) => {
      csds.FetchClientStatus(req, md, (err, res) => {
        if (err !== null) reject(err);
        else resolve((res?.config ?? []).map((c) => c.node?.id ?? "").sort());
      });
    });

  beforeEach(async () => {
    server = new XdsServer({ log: silent, clock: systemClock, auth: fakeAuth(), admin });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a"], weights: { a: 100 } }));
    const Ctor = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
    csds = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    await connect("demo", "demo-proxy");
    await connect("default", "default-proxy");
  });
  afterEach(async () => {
    for (const c of proxies.splice(0)) c.close();
    csds.close();
    await server.close();
  });

  it("gives a namespace-A caller no client of namespace B (FetchClientStatus)", async () => {
    assert.deepEqual(await fetchNodes(tokenOf("demo", "cart")), ["demo-proxy"]);
    assert.deepEqual(await fetchNodes(tokenOf("default", "reader")), ["default-proxy"]);
    assert.deepEqual(await fetchNodes(tokenOf("elsewhere", "x")), []);
  });

  it("does not let a node matcher reach another namespace's client", async () => {
    const req = { node_matchers: [{ node_id: { exact: "default-proxy" } }] };
    assert.deepEqual(await fetchNodes(tokenOf("demo", "cart"), req), []);
    assert.deepEqual(await fetchNodes(tokenOf("default", "cart"), req), ["default-proxy"]);
  });

  it("gives the controller's own service account every client", async () => {
    assert.deepEqual(await fetchNodes(tokenOf("vireo-system", "vireo")), [
      "default-proxy",
      "demo-proxy",
    ]);
  });

  it("scopes StreamClientStatus the same way", async () => {
    const ask = async (md: grpc.Metadata): Promise<string[]> => {
      const call = csds.StreamClientStatus(md);
      const res = await new Promise<Dump>((resolve, reject) => {
        call.on("data", resolve);
        call.on("error", reject);
        call.write({});
      });
      call.end();
      return res.config.map((c) => c.node?.id ?? "").sort();
    };
    assert.deepEqual(await ask(tokenOf("demo", "cart")), ["demo-proxy"]);
    assert.deepEqual(await ask(tokenOf("vireo-system", "vireo")), ["default-proxy", "demo-proxy"]);
  });

  it("still refuses an anonymous caller", async () => {
    await assert.rejects(fetchNodes(new grpc.Metadata()), { code: grpc.status.UNAUTHENTICATED });
  });
});
