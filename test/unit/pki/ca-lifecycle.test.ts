import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { FakeClock } from "../../../src/common/clock.js";
import { isVireoError } from "../../../src/common/errors.js";
import { CertificateAuthority } from "../../../src/pki/authority.js";
import type { CaSecretData } from "../../../src/pki/ca-material.js";
import {
  ISSUER_TTL_MS,
  ROOT_TTL_MS,
  generateCa,
  materialFromSecret,
  renewIssuer,
} from "../../../src/pki/ca-material.js";
import {
  fingerprint,
  planCaRefresh,
  renewalTime,
  validityOf,
} from "../../../src/pki/ca-lifecycle.js";
import { makeCsr } from "./csr.js";

const TD = "cluster.local";
const ID = { trustDomain: TD, namespace: "shop", serviceAccount: "cart" };
const DAY = 24 * 3600 * 1000;

/** Does `chain` (leaf first) verify up to one of `roots`, at time `at`? */
function verifiesAt(chain: readonly string[], roots: readonly string[], at: number): boolean {
  const certs = chain.map((p) => new X509Certificate(p));
  for (const c of certs) {
    if (Date.parse(c.validFrom) > at || Date.parse(c.validTo) < at) return false;
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const issuer = certs[i + 1];
    if (issuer === undefined || certs[i]?.verify(issuer.publicKey) !== true) return false;
  }
  const top = certs[certs.length - 1];
  return roots.some((r) => top?.verify(new X509Certificate(r).publicKey) === true);
}

function without(data: CaSecretData, ...keys: string[]): CaSecretData {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !keys.includes(k)));
}

describe("pki: CA lifecycle", function () {
  this.timeout(60_000);
  const t0 = Date.UTC(2026, 0, 1);
  let generated: { data: CaSecretData };
  before(() => {
    generated = generateCa(TD, t0);
  });

  const plan = (data: CaSecretData, loaded: CaSecretData, now: number) =>
    planCaRefresh({
      data,
      loaded: fingerprint(loaded),
      current: materialFromSecret(loaded, TD, now),
      trustDomain: TD,
      now,
    });

  it("renews the issuer at two thirds of its life, not before", () => {
    const life = validityOf(generated.data["ca-cert.pem"] ?? "");
    const due = renewalTime(life);
    assert.equal(due, life.notBefore + Math.floor((ISSUER_TTL_MS + 60_000) * (2 / 3)));
    assert.equal(plan(generated.data, generated.data, due - 1).kind, "unchanged");
    assert.equal(plan(generated.data, generated.data, due).kind, "renew-stored");
  });

  it("a renewed issuer signs new certificates that chain to the same root; old ones stay valid until they expire", () => {
    const clock = new FakeClock(t0 + 250 * DAY);
    const ca = new CertificateAuthority(materialFromSecret(generated.data, TD, clock.now()), {
      clock,
    });
    const old = ca.issue(makeCsr().csrPem, ID);

    const p = plan(generated.data, generated.data, clock.now());
    assert.equal(p.kind, "renew-stored");
    if (p.kind !== "renew-stored") return;
    assert.equal(p.data["root-cert.pem"], generated.data["root-cert.pem"]);
    assert.equal(p.data["root-key.pem"], generated.data["root-key.pem"]);
    assert.notEqual(p.data["ca-cert.pem"], generated.data["ca-cert.pem"]);
    const renewed = validityOf(p.data["ca-cert.pem"] ?? "");
    assert.equal(renewed.notAfter, clock.now() + ISSUER_TTL_MS);

    ca.update(p.material);
    const fresh = ca.issue(makeCsr().csrPem, ID);
    const roots = p.material.roots;
    assert.equal(fresh.certChain[1], p.material.chain[0]);
    assert.ok(verifiesAt(fresh.certChain, roots, clock.now()));
    assert.ok(verifiesAt(old.certChain, roots, clock.now()), "the old leaf still verifies");
    assert.ok(verifiesAt(old.certChain, roots, clock.now() + DAY - 120_000), "until its own end");
    // At the old issuer's end, only certificates from the new one verify.
    const oldEnd = validityOf(generated.data["ca-cert.pem"] ?? "").notAfter;
    assert.ok(!verifiesAt(old.certChain, roots, oldEnd + 1000));
    const later = new CertificateAuthority(p.material, { clock: new FakeClock(oldEnd + 1000) });
    assert.ok(verifiesAt(later.issue(makeCsr().csrPem, ID).certChain, roots, oldEnd + 1000));
  });

  it("picks up an issuer-only change in the Secret (roots unchanged)", () => {
    const now = t0 + 10 * DAY;
    const written = renewIssuer(generated.data, TD, now);
    const p = plan(written, generated.data, now);
    assert.equal(p.kind, "reload");
    if (p.kind !== "reload") return;
    assert.equal(p.rootsChanged, false);
    assert.equal(p.fingerprint, fingerprint(written));
    assert.equal(
      new X509Certificate(p.material.issuer.certPem).fingerprint256,
      new X509Certificate(written["ca-cert.pem"] ?? "").fingerprint256,
    );
  });

  it("renews an in-memory issuer (Secret with root-key.pem only) without writing the Secret", () => {
    const rootOnly = without(generated.data, "ca-cert.pem", "ca-key.pem");
    const start = t0 + DAY;
    const current = materialFromSecret(rootOnly, TD, start);
    const due = renewalTime(validityOf(current.issuer.certPem));
    const input = { data: rootOnly, loaded: fingerprint(rootOnly), current, trustDomain: TD };
    assert.equal(planCaRefresh({ ...input, now: due - 1 }).kind, "unchanged");
    const p = planCaRefresh({ ...input, now: due });
    assert.equal(p.kind, "renew-in-memory");
    if (p.kind !== "renew-in-memory") return;
    assert.equal(validityOf(p.material.issuer.certPem).notAfter, due + ISSUER_TTL_MS);
  });

  it("says an issuer without its root key cannot be renewed", () => {
    const noRootKey = without(generated.data, "root-key.pem");
    const due = renewalTime(validityOf(generated.data["ca-cert.pem"] ?? ""));
    const p = plan(noRootKey, noRootKey, due);
    assert.deepEqual(p, {
      kind: "cannot-renew",
      notAfter: validityOf(generated.data["ca-cert.pem"] ?? "").notAfter,
      reason: "no-root-key",
    });
  });

  it("asks for a root rotation when the root ends before a renewed issuer could", () => {
    const late = t0 + ROOT_TTL_MS - 90 * DAY;
    const clamped = renewIssuer(generated.data, TD, late);
    const life = validityOf(clamped["ca-cert.pem"] ?? "");
    assert.equal(life.notAfter, validityOf(generated.data["root-cert.pem"] ?? "").notAfter);
    const p = plan(clamped, clamped, renewalTime(life));
    assert.equal(p.kind, "cannot-renew");
    assert.equal(p.kind === "cannot-renew" && p.reason, "root-expiring");
  });

  it("never issues a certificate past its issuer's end, nor one already expired", () => {
    const issuerEnd = validityOf(generated.data["ca-cert.pem"] ?? "").notAfter;
    const clock = new FakeClock(issuerEnd - 3600_000);
    const ca = new CertificateAuthority(materialFromSecret(generated.data, TD, clock.now()), {
      clock,
    });
    const leaf = new X509Certificate(ca.issue(makeCsr().csrPem, ID).certChain[0] ?? "");
    assert.equal(Date.parse(leaf.validTo), issuerEnd, "clamped to the issuer's end");
    assert.equal(ca.issuerNotAfter(), issuerEnd);
    for (const at of [issuerEnd - 30_000, issuerEnd, issuerEnd + DAY]) {
      const late = new CertificateAuthority(materialFromSecret(generated.data, TD, at), {
        clock: new FakeClock(at),
      });
      assert.throws(
        () => late.issue(makeCsr().csrPem, ID),
        (e: unknown) => isVireoError(e, "IssuerExpired") && e.message.includes("vireo-ca"),
      );
    }
  });
});
