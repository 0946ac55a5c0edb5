// Proxy-to-proxy mutual TLS on loopback with certificates from a real instance of the
// controller's CA: PeerAuthentication modes on the inbound port (STRICT, PERMISSIVE, DISABLE),
// secure naming on the client side, refused foreign-CA and expired certificates, RBAC, and the
// destination reporter's security labels; a rotated client certificate on new upstream connections.
import assert from "node:assert/strict";
import https from "node:https";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { systemClock } from "../../../src/common/clock.js";
import type { RequestRecord } from "../../../mesh/filters/request-record.js";
import { createProxy } from "../../../mesh/proxy.js";
import type { Proxy } from "../../../mesh/proxy.js";
import type { RbacRules } from "../../../mesh/authz/rbac.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import type { InboundChain, InboundListenerConfig } from "../../../mesh/routing/security-model.js";
import { inboundListenerName, TRUST_BUNDLE_SECRET } from "../../../mesh/routing/security-model.js";
import { proxyIdentity } from "../../../mesh/telemetry/identity.js";
import { requestLabels } from "../../../mesh/telemetry/labels.js";
import type { WorkloadCertificate } from "../../../mesh/tls/cert-manager.js";
import { TlsMaterial } from "../../../mesh/tls/material.js";
import type { TestProxy, Upstream } from "./harness.js";
import { namedUpstream, send, silentLog, sleep, startProxy } from "./harness.js";
import type { TestCa } from "./mesh-pki.js";
import { spiffe, testCa, workloadCertificate } from "./mesh-pki.js";
import { buildSnapshot } from "./snapshot-builder.js";

const SERVER_URI = spiffe("shop", "reviews");
const CLIENT_URI = spiffe("shop", "productpage");
const HOST = "reviews.shop.svc.cluster.local";
const CLUSTER = `outbound|9080||${HOST}`;

const tlsChain = (rbac: RbacRules[] = []): InboundChain => ({
  name: "mtls",
  transport: "tls",
  tls: { requireClientCertificate: true, validationSecret: TRUST_BUNDLE_SECRET },
  rbac,
});
const plainChain = (rbac: RbacRules[] = []): InboundChain => ({
  name: "plaintext",
  transport: "raw_buffer",
  rbac,
});
const MODES = {
  STRICT: [tlsChain()],
  PERMISSIVE: [tlsChain(), plainChain()],
  DISABLE: [plainChain()],
} as const;

function withSecurity(
  base: RoutingSnapshot,
  roots: string,
  inbound?: InboundListenerConfig,
): RoutingSnapshot {
  return {
    ...base,
    inbound: new Map(inbound === undefined ? [] : [[inbound.name, inbound]]),
    secrets: new Map([[TRUST_BUNDLE_SECRET, { name: TRUST_BUNDLE_SECRET, trustedCa: roots }]]),
  };
}

interface ServerProxy {
  readonly proxy: Proxy;
  readonly port: number;
  readonly records: RequestRecord[];
  setChains(chains: readonly InboundChain[] | undefined): void;
}

async function startServer(
  cert: () => WorkloadCertificate | undefined,
  roots: string,
  appPort: number,
  chains: readonly InboundChain[] | undefined,
): Promise<ServerProxy> {
  let snapshot = withSecurity(buildSnapshot({ vhosts: [], clusters: {} }), roots);
  const records: RequestRecord[] = [];
  const proxy = createProxy({
    role: "sidecar",
    namespace: "shop",
    snapshot: () => snapshot,
    clock: systemClock,
    log: silentLog,
    onRequestDone: (r) => records.push(r),
    security: { material: new TlsMaterial(cert, () => snapshot), handshakeTimeoutMs: 2_000 },
  });
  const bound = await proxy.listenInbound("127.0.0.1", 0, appPort);
  const setChains = (c: readonly InboundChain[] | undefined): void => {
    const name = inboundListenerName("127.0.0.1", bound.port);
    const inbound =
      c === undefined ? undefined : { name, address: "127.0.0.1", port: bound.port, chains: c };
    snapshot = withSecurity(snapshot, roots, inbound);
  };
  setChains(chains);
  return { proxy, port: bound.port, records, setChains };
}

async function startClient(
  cert: WorkloadCertificate | (() => WorkloadCertificate),
  roots: string,
  serverPort: number,
  opts: { uriSans?: readonly string[]; http2?: boolean } = {},
): Promise<TestProxy> {
  let snapshot: RoutingSnapshot = EMPTY;
  const base = buildSnapshot({
    vhosts: [{ domains: [HOST, `${HOST}:9080`], routes: [{ to: CLUSTER }] }],
    clusters: { [CLUSTER]: { endpoints: [serverPort], http2: opts.http2 ?? false } },
  });
  const clusters = new Map(base.clusters);
  const c = clusters.get(CLUSTER);
  assert.ok(c);
  clusters.set(CLUSTER, {
    ...c,
    tls: {
      sni: CLUSTER,
      validationSecret: TRUST_BUNDLE_SECRET,
      uriSans: (opts.uriSans ?? [SERVER_URI]).map((value) => ({
        kind: "exact",
        value,
        ignoreCase: false,
      })),
    },
  });
  snapshot = withSecurity({ ...base, clusters }, roots);
  const material = new TlsMaterial(typeof cert === "function" ? cert : () => cert, () => snapshot);
  const client = await startProxy(snapshot, { namespace: "shop", security: { material } });
  return client;
}

/** An app speaking HTTP/2 with prior knowledge (inbound keeps the downstream's protocol). */
async function h2Upstream(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http2.createServer((_req, res) => {
    res.end("reviews-h2");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

const EMPTY = buildSnapshot({ vhosts: [], clusters: {} });

/** A plaintext request straight to the inbound port: the status, or the error's code. */
async function plaintext(port: number): Promise<number | string> {
  try {
    return (await send(port, { host: HOST })).status;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "error";
  }
}

const allowFrom = (uri: string): RbacRules => ({
  action: "ALLOW",
  policies: [
    {
      name: "allow-productpage",
      permissions: [{ kind: "always" }],
      principals: [
        { kind: "authenticated", name: { kind: "exact", value: uri, ignoreCase: false } },
      ],
    },
  ],
});

describe("mesh mTLS between two proxies (real CA, loopback)", function () {
  this.timeout(30_000);
  let ca: TestCa;
  let serverCert: WorkloadCertificate;
  let clientCert: WorkloadCertificate;
  let app: Upstream;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    ca = testCa();
    serverCert = await workloadCertificate(ca, "shop", "reviews");
    clientCert = await workloadCertificate(ca, "shop", "productpage");
    app = await namedUpstream("reviews-app");
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });
  after(async () => {
    await app.close();
  });

  async function pair(
    chains: readonly InboundChain[] | undefined,
    client: WorkloadCertificate = clientCert,
    opts: { uriSans?: readonly string[]; http2?: boolean } = {},
  ): Promise<{ server: ServerProxy; client: TestProxy }> {
    const server = await startServer(() => serverCert, ca.roots, app.port, chains);
    const c = await startClient(client, ca.roots, server.port, opts);
    closers.push(
      () => server.proxy.close(),
      () => c.proxy.close(),
    );
    return { server, client: c };
  }

  it("STRICT: a client proxy gets through with mTLS; a plaintext client is refused", async () => {
    const { server, client } = await pair(MODES.STRICT);
    const r = await send(client.port, { host: HOST });
    assert.equal(r.status, 200);
    assert.equal(r.body, "reviews-app");
    assert.notEqual(await plaintext(server.port), 200);
    const rec = server.records.find((x) => x.status === 200);
    assert.ok(rec);
    assert.equal(rec.mutualTls, true);
    assert.equal(rec.peerPrincipal, CLIENT_URI);
    const self = proxyIdentity({
      workload: "reviews",
      namespace: "shop",
      serviceAccount: "reviews",
    });
    const labels = requestLabels(rec, self);
    assert.equal(labels.connection_security_policy, "mutual_tls");
    assert.equal(labels.source_principal, CLIENT_URI);
    // The client's own report: its identity as the source, the policy only the server knows.
    const sent = (await client.recorded(1))[0];
    assert.ok(sent);
    const clientSelf = proxyIdentity({ namespace: "shop", serviceAccount: "productpage" });
    const sourceLabels = requestLabels(sent, clientSelf);
    assert.equal(sourceLabels.source_principal, CLIENT_URI);
    assert.equal(sourceLabels.connection_security_policy, "unknown");
  });

  it("STRICT over HTTP/2 (ALPN h2): the peer principal reaches the request path", async () => {
    const h2app = await h2Upstream();
    const server = await startServer(() => serverCert, ca.roots, h2app.port, MODES.STRICT);
    const client = await startClient(clientCert, ca.roots, server.port, { http2: true });
    closers.push(
      () => server.proxy.close(),
      () => client.proxy.close(),
      h2app.close,
    );
    const r = await send(client.port, { host: HOST });
    assert.equal(r.status, 200);
    assert.equal(r.body, "reviews-h2");
    const rec = server.records.find((x) => x.status === 200);
    assert.equal(rec?.peerPrincipal, CLIENT_URI);
  });

  it("PERMISSIVE: plaintext and mTLS on the same port, each labelled as it was", async () => {
    const { server, client } = await pair(MODES.PERMISSIVE);
    assert.equal(await plaintext(server.port), 200);
    assert.equal((await send(client.port, { host: HOST })).status, 200);
    const self = proxyIdentity({ workload: "reviews", namespace: "shop" });
    const policies = server.records.map((x) => requestLabels(x, self));
    assert.deepEqual(
      policies.map((l) => [l.connection_security_policy, l.source_principal]),
      [
        ["none", "unknown"],
        ["mutual_tls", CLIENT_URI],
      ],
    );
  });

  it("DISABLE: plaintext only; a TLS client is refused", async () => {
    const { server, client } = await pair(MODES.DISABLE);
    assert.equal(await plaintext(server.port), 200);
    const r = await send(client.port, { host: HOST });
    assert.equal(r.status, 503);
  });

  it("refuses every connection until the inbound listener has arrived once", async () => {
    const { server, client } = await pair(undefined);
    assert.notEqual(await plaintext(server.port), 200);
    assert.equal((await send(client.port, { host: HOST })).status, 503);
    server.setChains(MODES.STRICT);
    assert.equal((await send(client.port, { host: HOST })).status, 200);
    // Once arrived, it stays in force even if a later snapshot lacks it (a new connection).
    server.setChains(undefined);
    const fresh = await startClient(clientCert, ca.roots, server.port);
    closers.push(() => fresh.proxy.close());
    assert.equal((await send(fresh.port, { host: HOST })).status, 200);
    assert.notEqual(await plaintext(server.port), 200);
  });

  it("refuses a client certificate from a foreign CA", async () => {
    const foreign = testCa();
    const stranger = await workloadCertificate(foreign, "shop", "productpage");
    // The stranger trusts our roots, so only the server's check can refuse it.
    const { server, client } = await pair(MODES.STRICT, stranger);
    const r = await send(client.port, { host: HOST });
    // TLS 1.3: the client's handshake completes before the server refuses its certificate, so
    // the client sees the connection end (UC) rather than fail to connect.
    assert.equal(r.status, 503);
    assert.match(r.body, /reset reason: connection (failure|termination)/);
    assert.equal(server.records.length, 0);
  });

  it("refuses an expired client certificate", async () => {
    const short = await workloadCertificate(ca, "shop", "productpage", 1);
    await sleep(1_500);
    assert.ok(short.notAfter < Date.now());
    const { server, client } = await pair(MODES.STRICT, short);
    assert.equal((await send(client.port, { host: HOST })).status, 503);
    assert.equal(server.records.length, 0);
  });

  it("refuses a server whose identity the service may not have (secure naming)", async () => {
    const { server, client } = await pair(MODES.STRICT, clientCert, {
      uriSans: [spiffe("shop", "ratings")],
    });
    const r = await send(client.port, { host: HOST });
    assert.equal(r.status, 503);
    // The handshake failed on the client's own check: classified as the connection ending (UC).
    assert.deepEqual((await client.recorded(1))[0]?.flags, ["UC"]);
    assert.equal(server.records.length, 0);
  });

  it("presents a rotated certificate on new upstream connections; open ones keep theirs", async () => {
    // The app's own TLS server stands in for the server proxy, to see each connection's client
    // certificate; it holds each request until two are in, so the second needs a new connection.
    const serials: string[] = [];
    const held: (() => void)[] = [];
    const upstream = https.createServer(
      {
        key: serverCert.keyPem,
        cert: serverCert.chainPem,
        ca: ca.roots,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const serial = (req.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
        req.resume();
        held.push(() => res.end(serial.toUpperCase()));
        if (held.length >= wanted) for (const f of held.splice(0)) f();
      },
    );
    upstream.on("secureConnection", (s: tls.TLSSocket) => {
      serials.push(s.getPeerCertificate().serialNumber.toUpperCase());
    });
    let wanted = 1;
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          upstream.closeAllConnections();
          upstream.close(() => {
            resolve();
          });
        }),
    );
    let current = clientCert;
    const port = (upstream.address() as AddressInfo).port;
    const client = await startClient(() => current, ca.roots, port);
    closers.push(() => client.proxy.close());
    const first = await send(client.port, { host: HOST });
    assert.equal(first.body, clientCert.serial.toUpperCase());
    const rotated = await workloadCertificate(ca, "shop", "productpage");
    assert.notEqual(rotated.serial, clientCert.serial);
    current = rotated;
    wanted = 2;
    const both = await Promise.all([
      send(client.port, { host: HOST }),
      send(client.port, { host: HOST }),
    ]);
    assert.deepEqual(
      both.map((r) => r.body).sort(),
      [clientCert.serial, rotated.serial].map((x) => x.toUpperCase()).sort(),
    );
    assert.deepEqual(
      serials,
      [clientCert.serial, rotated.serial].map((x) => x.toUpperCase()),
    );
  });

  it("a plain TLS client without a certificate is refused by STRICT", async () => {
    const { server } = await pair(MODES.STRICT);
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port: server.port,
        ca: ca.roots,
        checkServerIdentity: () => undefined,
      });
      s.on("secureConnect", () => {
        s.write(`GET / HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
      });
      let data = "";
      s.on("data", (d: Buffer) => (data += d.toString()));
      s.on("error", (e: NodeJS.ErrnoException) => {
        resolve(`error ${e.code ?? ""}`);
      });
      s.on("close", () => {
        resolve(data === "" ? "closed" : data);
      });
    });
    assert.doesNotMatch(outcome, /^HTTP\/1.1 200/);
  });

  it("RBAC: the allowed principal gets 200, another 403 RBAC: access denied; DENY beats ALLOW", async () => {
    const other = await workloadCertificate(ca, "shop", "intruder");
    const deny: RbacRules = {
      action: "DENY",
      policies: [
        {
          name: "no-admin",
          permissions: [
            { kind: "url_path", matcher: { kind: "prefix", value: "/admin", ignoreCase: false } },
          ],
          principals: [{ kind: "always" }],
        },
      ],
    };
    const server = await startServer(() => serverCert, ca.roots, app.port, [
      tlsChain([deny, allowFrom(CLIENT_URI)]),
    ]);
    const good = await startClient(clientCert, ca.roots, server.port);
    const bad = await startClient(other, ca.roots, server.port);
    closers.push(
      () => server.proxy.close(),
      () => good.proxy.close(),
      () => bad.proxy.close(),
    );
    assert.equal((await send(good.port, { host: HOST, path: "/info" })).status, 200);
    const denied = await send(bad.port, { host: HOST, path: "/info" });
    assert.equal(denied.status, 403);
    assert.equal(denied.body, "RBAC: access denied");
    const admin = await send(good.port, { host: HOST, path: "/admin/x?y=1" });
    assert.equal(admin.status, 403);
    assert.equal(admin.body, "RBAC: access denied");
  });

  it("an h2 TLS client straight to the port (ALPN h2) is served, with its principal", async () => {
    const h2app = await h2Upstream();
    const server = await startServer(() => serverCert, ca.roots, h2app.port, MODES.STRICT);
    closers.push(() => server.proxy.close(), h2app.close);
    const session = http2.connect(`https://127.0.0.1:${server.port}`, {
      ca: ca.roots,
      key: clientCert.keyPem,
      cert: clientCert.chainPem,
      checkServerIdentity: () => undefined,
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ":path": "/", ":authority": HOST });
      req.on("response", (h) => {
        resolve(Number(h[":status"]));
      });
      req.on("error", reject);
      req.resume();
      req.end();
    });
    session.close();
    assert.equal(status, 200);
    for (let i = 0; i < 200 && server.records.length === 0; i++) await sleep(10);
    assert.equal(server.records.at(-1)?.peerPrincipal, CLIENT_URI);
  });
});
