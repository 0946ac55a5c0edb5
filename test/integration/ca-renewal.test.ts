// The issuing CA renewed ahead of its expiry through the real Secret: one replica writes the new
// issuer, another picks it up at its next refresh without a restart, and certificates from the old
// issuer keep verifying against the unchanged trust bundle.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { AuthenticationV1Api } from "@kubernetes/client-node";
import { FakeClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { renewalTime, validityOf } from "../../src/pki/ca-lifecycle.js";
import { readCaSecret } from "../../src/pki/ca-secret.js";
import { ControllerSecurity } from "../../src/pki/security.js";
import { makeCsr } from "../unit/pki/csr.js";
import { cluster, useNamespace } from "./harness.js";

const log = createLogger({ component: "ca-renewal-it", level: "error" });

function verifies(chain: readonly string[], bundle: string): boolean {
  const certs = chain.map((p) => new X509Certificate(p));
  for (let i = 0; i + 1 < certs.length; i++) {
    const issuer = certs[i + 1];
    if (issuer === undefined || certs[i]?.verify(issuer.publicKey) !== true) return false;
  }
  const top = certs[certs.length - 1];
  return bundle
    .split(/(?=-----BEGIN CERTIFICATE-----)/)
    .filter((p) => p.includes("BEGIN CERTIFICATE"))
    .some((r) => top?.verify(new X509Certificate(r).publicKey) === true);
}

describe("CA issuer renewal through the Secret (real API server)", function () {
  this.timeout(120_000);
  const ns = useNamespace("ca-renewal");

  it("renews the issuer at 2/3 of its life; the other replica follows; old leaves stay valid", async () => {
    const { kc, core } = cluster();
    const clock = new FakeClock(Date.now());
    const deps = {
      core,
      authn: kc.makeApiClient(AuthenticationV1Api),
      clock,
      log,
      namespace: ns(),
      trustDomain: "cluster.local",
      serviceName: "vireo",
      xdsHost: "127.0.0.1",
      onlyNamespace: ns(),
      onTrustBundle: () => undefined,
    };
    const a = await ControllerSecurity.start(deps);
    const b = await ControllerSecurity.start(deps);
    try {
      const secretDeps = { ...deps, now: () => clock.now() };
      const before = await readCaSecret(secretDeps);
      const id = { trustDomain: "cluster.local", namespace: ns(), serviceAccount: "a" };
      const oldLeaf = a.authority.issue(makeCsr().csrPem, id);
      const due = renewalTime(validityOf(before?.["ca-cert.pem"] ?? ""));
      // Jump (no timers: refresh is called by hand) to the renewal time.
      a.stop();
      b.stop();
      await clock.advance(due - clock.now());

      await a.refresh();
      const after = await readCaSecret(secretDeps);
      assert.notEqual(after?.["ca-cert.pem"], before?.["ca-cert.pem"]);
      assert.equal(after?.["root-cert.pem"], before?.["root-cert.pem"]);
      assert.ok(a.expiry().issuer > due);

      await b.refresh();
      assert.equal(b.expiry().issuer, a.expiry().issuer, "the other replica loaded it live");
      const newLeaf = b.authority.issue(makeCsr().csrPem, id);
      assert.equal(
        new X509Certificate(newLeaf.certChain[1] ?? "").fingerprint256,
        new X509Certificate(after?.["ca-cert.pem"] ?? "").fingerprint256,
      );
      assert.equal(newLeaf.trustBundle, oldLeaf.trustBundle, "same root, same trust bundle");
      assert.ok(verifies(oldLeaf.certChain, newLeaf.trustBundle));
      assert.ok(verifies(newLeaf.certChain, newLeaf.trustBundle));
    } finally {
      a.stop();
      b.stop();
    }
  });
});
