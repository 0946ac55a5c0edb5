// The pure planning of `vireo ca`; its reads and writes of Secret vireo-ca against the real API
// server are in test/integration/cli-ca.test.ts.
import assert from "node:assert/strict";
import { uniqueRoots } from "../../../src/pki/authority.js";
import type { CaSecretData } from "../../../src/pki/ca-material.js";
import { generateCa, materialFromSecret } from "../../../src/pki/ca-material.js";
import { caStatus, planDropOldRoots, planRotateRoot, trustDomainOf } from "../../../src/cli/ca.js";

const T0 = Date.UTC(2026, 0, 1);

describe("cli: vireo ca", function () {
  this.timeout(60_000);
  let ca: { data: CaSecretData };
  before(() => {
    ca = generateCa("shop.example", T0);
  });

  it("rotate-root plans a new root for the same trust domain, keeping the old one trusted", () => {
    const plan = planRotateRoot(ca.data, T0 + 1000);
    const next = plan.data ?? {};
    assert.equal(trustDomainOf(next["root-cert.pem"] ?? ""), "shop.example");
    assert.notEqual(next["root-cert.pem"], ca.data["root-cert.pem"]);
    assert.deepEqual(
      uniqueRoots([next["trusted-roots.pem"] ?? ""]),
      uniqueRoots([ca.data["root-cert.pem"] ?? ""]),
    );
    const material = materialFromSecret(next, "shop.example", T0 + 1000);
    assert.equal(material.roots.length, 2, "the trust bundle is new + old");
    assert.match(
      plan.lines[0] ?? "",
      /^generate a new root for trust domain shop\.example: vireo root CA/,
    );
    assert.match(plan.lines[2] ?? "", /keep trusting 1 previous root/);
    assert.match(plan.lines.at(-1) ?? "", /vireo ca drop-old-roots/);
  });

  it("drop-old-roots removes trusted-roots.pem, and says when there is nothing to drop", () => {
    const rotated = planRotateRoot(ca.data, T0).data ?? {};
    const drop = planDropOldRoots(rotated);
    assert.equal(drop.data?.["trusted-roots.pem"], undefined);
    assert.equal(drop.data?.["root-cert.pem"], rotated["root-cert.pem"]);
    assert.deepEqual(planDropOldRoots(ca.data), {
      data: undefined,
      lines: ["no previous roots in trusted-roots.pem: nothing to do"],
    });
  });

  it("status names the roots, the issuer, when it is renewed and whether a rotation is under way", () => {
    const lines = caStatus(ca.data, T0);
    assert.match(lines[0] ?? "", /^active root: {3}vireo root CA \(sha256 .*, expires 2035-12-30T/);
    assert.ok(lines.includes("root key:      present"));
    assert.ok(lines.some((l) => /^issuer: {8}vireo issuing CA .*expires 2027-01-01/.test(l)));
    assert.ok(lines.some((l) => /^renewal: {7}at 2026-09-01T/.test(l)));
    assert.equal(lines.at(-1), "rotation:      none in progress");
  });
});
