import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { FakeClock } from "../../../src/common/clock.js";
import { CertificateAuthority, DEFAULT_WORKLOAD_TTL_SECONDS } from "../../../src/pki/authority.js";
import type { CaMaterial } from "../../../src/pki/authority.js";
import { generateCa, materialFromSecret, rotateRoot } from "../../../src/pki/ca-material.js";
import { isVireoError } from "../../../src/common/errors.js";
import { splitPem } from "../../../src/pki/x509.js";
import { makeCsr } from "./csr.js";

const ID = { trustDomain: "cluster.local", namespace: "shop", serviceAccount: "cart" };
const URI = "spiffe://cluster.local/ns/shop/sa/cart";

function verifies(leafPem: string, chain: readonly string[], roots: readonly string[]): boolean {
  const certs = [leafPem, ...chain].map((p) => new X509Certificate(p));
  for (let i = 0; i + 1 < certs.length; i++) {
    const c = certs[i];
    const issuer = certs[i + 1];
    if (!issuer || !c?.verify(issuer.publicKey)) return false;
  }
  const top = certs[certs.length - 1];
  return roots.some((r) => top?.verify(new X509Certificate(r).publicKey) === true);
}

describe("pki: certificate authority", function () {
  this.timeout(30_000);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  let material: CaMaterial;
  before(() => {
    material = generateCa("cluster.local", clock.now()).material;
  });

  it("issues a leaf whose only SAN is the caller's SPIFFE URI, for mTLS, 24 h by default", () => {
    const ca = new CertificateAuthority(material, { clock });
    const { certChain, trustBundle } = ca.issue(makeCsr().csrPem, ID);
    assert.equal(certChain.length, 2);
    const leaf = new X509Certificate(certChain[0] ?? "");
    assert.equal(leaf.subjectAltName, `URI:${URI}`);
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.ok(/^[0-7]/.test(leaf.serialNumber), "serial is positive");
    const life = (Date.parse(leaf.validTo) - clock.now()) / 1000;
    assert.equal(life, DEFAULT_WORKLOAD_TTL_SECONDS);
    assert.ok(verifies(certChain[0] ?? "", certChain.slice(1), splitPem(trustBundle)));
    assert.equal(new X509Certificate(certChain[1] ?? "").ca, true);
  });

  it("gives every certificate its own serial number", () => {
    const ca = new CertificateAuthority(material, { clock });
    const csr = makeCsr().csrPem;
    const a = new X509Certificate(ca.issue(csr, ID).certChain[0] ?? "");
    const b = new X509Certificate(ca.issue(csr, ID).certChain[0] ?? "");
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  it("shortens the lifetime on request and never lengthens it past the maximum", () => {
    const ca = new CertificateAuthority(material, { clock, maxTtlSeconds: 48 * 3600 });
    const life = (seconds: number): number =>
      (Date.parse(
        new X509Certificate(ca.issue(makeCsr().csrPem, ID, seconds).certChain[0] ?? "").validTo,
      ) -
        clock.now()) /
      1000;
    assert.equal(life(5), 5);
    assert.equal(life(365 * 24 * 3600), 48 * 3600);
    assert.equal(life(0), DEFAULT_WORKLOAD_TTL_SECONDS);
  });

  it("accepts a CSR that asks for the caller's own URI and refuses one that asks for another", () => {
    const ca = new CertificateAuthority(material, { clock });
    assert.equal(ca.issue(makeCsr([URI]).csrPem, ID).certChain.length, 2);
    for (const csr of [
      makeCsr(["spiffe://cluster.local/ns/shop/sa/admin"]),
      makeCsr([URI], ["cart.shop.svc"]),
    ]) {
      assert.throws(
        () => ca.issue(csr.csrPem, ID),
        (e: unknown) => isVireoError(e, "CsrIdentityMismatch") && e.message.includes(URI),
      );
    }
  });

  it("refuses what is not a signed CSR", () => {
    const ca = new CertificateAuthority(material, { clock });
    assert.throws(
      () => ca.issue("garbage", ID),
      (e: unknown) => isVireoError(e, "BadCsr"),
    );
    const lines = makeCsr().csrPem.split("\n");
    const body = lines[3] ?? "";
    lines[3] = (body.startsWith("A") ? "B" : "A") + body.slice(1);
    const tampered = lines.join("\n");
    assert.throws(
      () => ca.issue(tampered, ID),
      (e: unknown) => isVireoError(e, "BadCsr"),
    );
  });

  it("reads back what it stored, and rotates the root keeping the old one trusted", () => {
    const first = generateCa("cluster.local", clock.now());
    const again = materialFromSecret(first.data, "cluster.local", clock.now());
    assert.deepEqual(again.roots, first.material.roots);
    const ca = new CertificateAuthority(again, { clock });
    const oldLeaf = ca.issue(makeCsr().csrPem, ID).certChain;

    const rotated = rotateRoot(first.data, "cluster.local", clock.now());
    const reread = materialFromSecret(rotated.data, "cluster.local", clock.now());
    assert.equal(reread.roots.length, 2);
    assert.equal(reread.roots[1], first.material.roots[0]);
    ca.update(reread);
    const newLeaf = ca.issue(makeCsr().csrPem, ID);
    const bundle = splitPem(newLeaf.trustBundle);
    assert.equal(bundle.length, 2);
    assert.ok(verifies(oldLeaf[0] ?? "", oldLeaf.slice(1), bundle), "old leaf trusted");
    assert.ok(verifies(newLeaf.certChain[0] ?? "", newLeaf.certChain.slice(1), bundle));
    assert.ok(
      !verifies(newLeaf.certChain[0] ?? "", newLeaf.certChain.slice(1), first.material.roots),
    );
  });

  it("refuses a Secret without a root, naming what is missing", () => {
    assert.throws(
      () => materialFromSecret({}, "cluster.local", clock.now()),
      (e: unknown) => isVireoError(e, "BadCaSecret") && e.message.includes("root-cert.pem"),
    );
  });

  it("makes certificates that Node's TLS accepts for mutual TLS and a foreign CA's that it refuses", async () => {
    const now = new FakeClock(Date.now());
    const ca = new CertificateAuthority(material, { clock: now });
    const foreign = new CertificateAuthority(generateCa("cluster.local", now.now()).material, {
      clock: now,
    });
    const server = makeCsr();
    const s = ca.issue(server.csrPem, { ...ID, serviceAccount: "server" });
    const srv = tls.createServer({
      key: server.keyPem,
      cert: s.certChain.join(""),
      ca: s.trustBundle,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const peers: string[] = [];
    srv.on("secureConnection", (sock) => {
      peers.push(sock.getPeerCertificate().subjectaltname ?? "");
      sock.end("ok");
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const port = (srv.address() as AddressInfo).port;
    const connect = (authority: CertificateAuthority): Promise<string> => {
      const client = makeCsr();
      const c = authority.issue(client.csrPem, ID);
      return new Promise((resolve) => {
        const sock = tls.connect({
          port,
          host: "127.0.0.1",
          key: client.keyPem,
          cert: c.certChain.join(""),
          ca: s.trustBundle,
          checkServerIdentity: () => undefined,
        });
        let data = "";
        sock.on("data", (d: Buffer) => (data += d.toString()));
        sock.on("end", () => {
          resolve(data);
        });
        sock.on("error", (e: Error) => {
          resolve(`error: ${e.message}`);
        });
      });
    };
    try {
      assert.equal(await connect(ca), "ok");
      assert.deepEqual(peers, [`URI:${URI}`]);
      assert.notEqual(await connect(foreign), "ok");
      assert.equal(peers.length, 1);
    } finally {
      srv.close();
    }
  });
});
