// The proxy's certificate client against a real CertificateService on loopback: TLS verified
// against the CA root, the Bearer token read from its file, certificates from the controller's
// CA. The service's TokenReview is stood in by a table of tokens (the TokenReview itself is
// tested against the real API server by the controller's tests); then rotation every couple of
// seconds between two proxies under steady load.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { systemClock } from "../../../src/common/clock.js";
import type {
  CreateCertificateRequest,
  CreateCertificateResponse,
} from "../../../src/pki/certificate-service.js";
import { certificateServiceDefinition } from "../../../src/pki/certificate-service.js";
import type { CaClient } from "../../../mesh/tls/ca-client.js";
import { createCaClient } from "../../../mesh/tls/ca-client.js";
import { CertificateManager, renewDelay } from "../../../mesh/tls/cert-manager.js";
import { TlsMaterial } from "../../../mesh/tls/material.js";
import { controlPlaneCredentials } from "../../../mesh/tls/token.js";
import { createProxy } from "../../../mesh/proxy.js";
import { TRUST_BUNDLE_SECRET, inboundListenerName } from "../../../mesh/routing/security-model.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import { namedUpstream, send, silentLog, sleep, startProxy } from "./harness.js";
import type { TestCa } from "./mesh-pki.js";
import { spiffe, testCa, TRUST_DOMAIN } from "./mesh-pki.js";
import { buildSnapshot } from "./snapshot-builder.js";

const TOKENS: Readonly<Record<string, { namespace: string; sa: string }>> = {
  "token-reviews": { namespace: "shop", sa: "reviews" },
  "token-productpage": { namespace: "shop", sa: "productpage" },
};

interface CaServer {
  readonly address: string;
  issued: number;
  close(): Promise<void>;
}

async function startCaServer(
  ca: TestCa,
  sans: { kind: "ip" | "dns"; value: string }[] = [{ kind: "ip", value: "127.0.0.1" }],
): Promise<CaServer> {
  const server = new grpc.Server();
  const state = { issued: 0 };
  server.addService(certificateServiceDefinition(), {
    CreateCertificate: (
      call: grpc.ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>,
      cb: grpc.sendUnaryData<CreateCertificateResponse>,
    ) => {
      const auth = String(call.metadata.get("authorization")[0] ?? "");
      const who = TOKENS[auth.replace(/^Bearer /, "")];
      if (who === undefined) {
        cb({ code: grpc.status.UNAUTHENTICATED, details: "unknown token" });
        return;
      }
      try {
        const issued = ca.authority.issue(
          call.request.csr,
          { trustDomain: TRUST_DOMAIN, namespace: who.namespace, serviceAccount: who.sa },
          Number(call.request.validity_seconds),
        );
        state.issued++;
        cb(null, { cert_chain: [...issued.certChain], trust_bundle: issued.trustBundle });
      } catch (err) {
        cb({ code: grpc.status.PERMISSION_DENIED, details: (err as Error).message });
      }
    },
  });
  const tlsCert = ca.authority.serverCertificate(sans, 3600);
  const creds = grpc.ServerCredentials.createSsl(null, [
    { private_key: Buffer.from(tlsCert.keyPem), cert_chain: Buffer.from(tlsCert.certChainPem) },
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", creds, (err, p) => {
      if (err !== null) reject(err);
      else resolve(p);
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    get issued() {
      return state.issued;
    },
    set issued(n: number) {
      state.issued = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}

function tokenFile(token: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vireo-token-"));
  const file = join(dir, "token");
  writeFileSync(file, `${token}\n`);
  return file;
}

describe("certificate client (CertificateService over TLS with the SA token)", function () {
  this.timeout(60_000);
  let ca: TestCa;
  let caServer: CaServer;
  const clients: CaClient[] = [];
  const managers: CertificateManager[] = [];
  const client = (token: string): CaClient => {
    const c = createCaClient(caServer.address, controlPlaneCredentials(ca.roots, tokenFile(token)));
    clients.push(c);
    return c;
  };
  const manager = (token: string, sa: string, validitySeconds: number): CertificateManager => {
    const m = new CertificateManager({
      clock: systemClock,
      log: silentLog,
      issue: client(token).issue,
      spiffeId: spiffe("shop", sa),
      validitySeconds,
      retry: { minMs: 100, maxMs: 1_000 },
    });
    managers.push(m);
    return m;
  };

  before(async () => {
    ca = testCa();
    caServer = await startCaServer(ca);
  });
  afterEach(() => {
    for (const m of managers.splice(0)) m.close();
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await caServer.close();
  });

  it("gets a certificate for the token's service account, chained to the trusted root", async () => {
    const m = manager("token-reviews", "reviews", 60);
    m.start();
    const cert = await m.ready;
    assert.equal(cert.uri, spiffe("shop", "reviews"));
    assert.ok(cert.trustBundle.includes("BEGIN CERTIFICATE"));
    assert.ok(cert.notAfter - Date.now() <= 60_000);
    assert.ok(cert.notAfter - Date.now() > 50_000);
  });

  it("a token of one service account cannot get a certificate for another", async () => {
    const { createKeyAndCsr } = await import("../../../mesh/tls/csr.js");
    const { csrPem } = await createKeyAndCsr(spiffe("shop", "productpage"));
    await assert.rejects(client("token-reviews").issue(csrPem, 60), /PERMISSION_DENIED/);
    await assert.rejects(client("forged").issue(csrPem, 60), /UNAUTHENTICATED/);
  });

  it("checks the controller's certificate against --xds-server-name when dialling another address", async () => {
    // As in the demo: proxies dial the node's address, relayed to the controller's pod.
    const named = await startCaServer(ca, [{ kind: "dns", value: "vireo.vireo-system.svc" }]);
    const { createKeyAndCsr } = await import("../../../mesh/tls/csr.js");
    const { csrPem } = await createKeyAndCsr(spiffe("shop", "reviews"));
    const creds = () => controlPlaneCredentials(ca.roots, tokenFile("token-reviews"));
    const plain = createCaClient(named.address, creds(), 5_000);
    const overridden = createCaClient(named.address, creds(), 5_000, {
      "grpc.ssl_target_name_override": "vireo.vireo-system.svc",
      "grpc.default_authority": "vireo.vireo-system.svc",
    });
    try {
      await assert.rejects(plain.issue(csrPem, 60), /UNAVAILABLE/);
      const issued = await overridden.issue(csrPem, 60);
      assert.ok(issued.certChain.length >= 2);
    } finally {
      plain.close();
      overridden.close();
      await named.close();
    }
  });

  it("renews at about half the remaining life, with jitter", () => {
    assert.equal(
      renewDelay(10_000, () => 0),
      5_000,
    );
    assert.equal(
      renewDelay(10_000, () => 1),
      4_000,
    );
    assert.equal(
      renewDelay(86_400_000, () => 0.5),
      38_880_000,
    );
  });

  it("renews on its own: new certificates keep arriving before the old ones expire", async () => {
    const m = manager("token-reviews", "reviews", 3);
    const serials = new Set<string>();
    m.onChange((c) => {
      if (c !== undefined) serials.add(c.serial);
    });
    m.start();
    await m.ready;
    const until = Date.now() + 7_000;
    let gaps = 0;
    while (Date.now() < until) {
      if (m.current() === undefined) gaps++;
      await sleep(50);
    }
    assert.equal(gaps, 0, "the certificate lapsed between renewals");
    assert.ok(serials.size >= 3, `only ${serials.size} certificates in 7 s at a 3 s lifetime`);
  });

  it("rotating every ~1.5 s under steady load between two proxies fails no request", async () => {
    const app = await namedUpstream("reviews-app");
    const serverCerts = manager("token-reviews", "reviews", 3);
    const clientCerts = manager("token-productpage", "productpage", 3);
    const rotations = { server: 0, client: 0 };
    serverCerts.onChange(() => rotations.server++);
    clientCerts.onChange(() => rotations.client++);
    serverCerts.start();
    clientCerts.start();
    await Promise.all([serverCerts.ready, clientCerts.ready]);

    // Trust bundle over "SDS" as the control plane sends it: the CA's roots.
    const secrets = new Map([
      [TRUST_BUNDLE_SECRET, { name: TRUST_BUNDLE_SECRET, trustedCa: ca.roots }],
    ]);
    let serverSnap: RoutingSnapshot = { ...buildSnapshot({ vhosts: [], clusters: {} }), secrets };
    const server = createProxy({
      role: "sidecar",
      namespace: "shop",
      snapshot: () => serverSnap,
      clock: systemClock,
      log: silentLog,
      security: {
        material: new TlsMaterial(
          () => serverCerts.current(),
          () => serverSnap,
        ),
      },
    });
    const bound = await server.listenInbound("127.0.0.1", 0, app.port);
    const name = inboundListenerName("127.0.0.1", bound.port);
    serverSnap = {
      ...serverSnap,
      inbound: new Map([
        [
          name,
          {
            name,
            address: "127.0.0.1",
            port: bound.port,
            chains: [
              {
                name: "mtls",
                transport: "tls",
                tls: { requireClientCertificate: true, validationSecret: TRUST_BUNDLE_SECRET },
                rbac: [],
              },
            ],
          },
        ],
      ]),
    };
    const host = "reviews.shop.svc.cluster.local";
    const cluster = `outbound|9080||${host}`;
    const base = buildSnapshot({
      vhosts: [{ domains: [host], routes: [{ to: cluster }] }],
      clusters: { [cluster]: { endpoints: [bound.port] } },
    });
    const c = base.clusters.get(cluster);
    assert.ok(c);
    const clientSnap: RoutingSnapshot = {
      ...base,
      secrets,
      clusters: new Map([
        [
          cluster,
          {
            ...c,
            tls: {
              sni: cluster,
              validationSecret: TRUST_BUNDLE_SECRET,
              uriSans: [{ kind: "exact", value: spiffe("shop", "reviews"), ignoreCase: false }],
            },
          },
        ],
      ]),
    };
    const clientProxy = await startProxy(clientSnap, {
      namespace: "shop",
      security: {
        material: new TlsMaterial(
          () => clientCerts.current(),
          () => clientSnap,
        ),
      },
    });
    try {
      const before = { ...rotations };
      let ok = 0;
      const failures: string[] = [];
      // Load until at least 100 requests have crossed two new certificates on each side (about
      // 3 s when the machine is idle; a busy one waits longer for the CA), 45 s at most.
      const until = Date.now() + 45_000;
      const issued = () => ({
        server: rotations.server - before.server,
        client: rotations.client - before.client,
      });
      const enough = () => ok >= 100 && issued().server >= 2 && issued().client >= 2;
      // Four steady streams, half of them on fresh connections, so handshakes span rotations.
      await Promise.all(
        [0, 1, 2, 3].map(async (i) => {
          while (!enough() && Date.now() < until) {
            try {
              const r = await send(clientProxy.port, {
                host,
                headers: i % 2 === 0 ? { connection: "close" } : {},
              });
              if (r.status === 200) ok++;
              else failures.push(`${r.status} ${r.body}`);
            } catch (err) {
              failures.push(String(err));
            }
          }
        }),
      );
      assert.deepEqual(
        failures.slice(0, 5),
        [],
        `${failures.length} failed of ${ok + failures.length}`,
      );
      const during = issued();
      assert.ok(enough(), `${ok} requests, ${JSON.stringify(during)} new certificates in 45 s`);
      process.stdout.write(
        `      ${ok} requests, 0 failed; ${during.server} server and ${during.client} client certificates issued during the load\n`,
      );
    } finally {
      await clientProxy.proxy.close();
      await server.close();
      await app.close();
    }
  });
});
