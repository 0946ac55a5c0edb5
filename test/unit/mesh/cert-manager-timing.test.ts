// The certificate manager's schedule under a fake clock: renewal at about half the remaining
// life, back-off while the CA fails, the old certificate kept until it expires and not after.
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/common/clock.js";
import type { IssueCertificate } from "../../../mesh/tls/ca-client.js";
import { CertificateManager } from "../../../mesh/tls/cert-manager.js";
import type { KeyAndCsr } from "../../../mesh/tls/csr.js";
import { createKeyAndCsr } from "../../../mesh/tls/csr.js";
import { silentLog } from "./harness.js";
import { spiffe, testCa, TRUST_DOMAIN } from "./mesh-pki.js";

/** Lets the manager's awaited key and issue promises run to their next timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe("certificate manager schedule (fake clock)", function () {
  this.timeout(20_000);
  let key: KeyAndCsr;
  before(async () => {
    key = await createKeyAndCsr(spiffe("shop", "reviews"));
  });

  it("renews at half the remaining life, backs off while the CA fails, keeps the old certificate until it expires", async () => {
    const clock = new FakeClock(Date.now());
    const ca = testCa(clock);
    let failing = false;
    const calls: number[] = [];
    const issue: IssueCertificate = (csr, validity) => {
      calls.push(clock.now());
      if (failing) return Promise.reject(new Error("CA unavailable"));
      const issued = ca.authority.issue(
        csr,
        { trustDomain: TRUST_DOMAIN, namespace: "shop", serviceAccount: "reviews" },
        validity,
      );
      return Promise.resolve({ certChain: issued.certChain, trustBundle: issued.trustBundle });
    };
    const m = new CertificateManager({
      clock,
      log: silentLog,
      issue,
      spiffeId: spiffe("shop", "reviews"),
      validitySeconds: 100,
      random: () => 0,
      keyFactory: () => Promise.resolve(key),
      retry: { minMs: 1_000, maxMs: 8_000 },
    });
    m.start();
    await settle();
    const first = await m.ready;
    const start = clock.now();
    // The certificate is valid until start + 100 s (to the second: X.509 has no milliseconds).
    const life = first.notAfter - start;
    assert.ok(life > 95_000 && life <= 100_000, String(life));
    await clock.advance(life / 2 - 100);
    await settle();
    assert.equal(calls.length, 1, "no renewal before half the remaining life");
    failing = true;
    await clock.advance(200);
    await settle();
    assert.equal(calls.length, 2, "renewed at half the remaining life");
    // Failures back off 1 s, 2 s, 4 s, 8 s, 8 s…, never past half of what is left.
    await clock.advance(15_500);
    await settle();
    const gaps = calls
      .slice(1)
      .map((t, i, a) => (i === 0 ? 0 : t - (a[i - 1] ?? 0)))
      .slice(1);
    assert.deepEqual(gaps.slice(0, 4), [1_000, 2_000, 4_000, 8_000]);
    assert.equal(m.current()?.serial, first.serial, "the old certificate still serves");
    await clock.advance(first.notAfter - clock.now() + 1);
    await settle();
    assert.equal(m.current(), undefined, "an expired certificate is not served");
    failing = false;
    await clock.advance(8_000);
    await settle();
    const next = m.current();
    assert.ok(
      next !== undefined && next.serial !== first.serial,
      "a new certificate once the CA answers",
    );
    m.close();
  });
});
