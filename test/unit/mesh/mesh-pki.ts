// Certificates for the proxy's security tests from a real instance of the controller's CA
// (src/pki), requested the way the proxy requests them: its own key and CSR.
import type { Clock } from "../../../src/common/clock.js";
import { systemClock } from "../../../src/common/clock.js";
import { CertificateAuthority } from "../../../src/pki/authority.js";
import { generateCa } from "../../../src/pki/ca-material.js";
import type { WorkloadCertificate } from "../../../mesh/tls/cert-manager.js";
import { createKeyAndCsr } from "../../../mesh/tls/csr.js";
import { leafFacts } from "../../../mesh/tls/peer.js";

export const TRUST_DOMAIN = "cluster.local";

export interface TestCa {
  readonly authority: CertificateAuthority;
  /** PEM roots (the trust bundle). */
  readonly roots: string;
}

/** A CA dating its certificates by `clock` (the system's by default). */
export function testCa(clock: Clock = systemClock): TestCa {
  const { material } = generateCa(TRUST_DOMAIN, clock.now());
  const authority = new CertificateAuthority(material, {
    clock,
    maxTtlSeconds: 24 * 3600,
  });
  return { authority, roots: authority.trustBundle() };
}

export function spiffe(namespace: string, sa: string): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${sa}`;
}

/** A workload certificate for `namespace/sa`, valid for `validitySeconds`. */
export async function workloadCertificate(
  ca: TestCa,
  namespace: string,
  sa: string,
  validitySeconds = 3600,
): Promise<WorkloadCertificate> {
  const { keyPem, csrPem } = await createKeyAndCsr(spiffe(namespace, sa));
  const issued = ca.authority.issue(
    csrPem,
    { trustDomain: TRUST_DOMAIN, namespace, serviceAccount: sa },
    validitySeconds,
  );
  const chainPem = issued.certChain.join("");
  const facts = leafFacts(chainPem);
  return {
    keyPem,
    chainPem,
    trustBundle: issued.trustBundle,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    uri: facts.uris[0],
    serial: facts.serial,
    issuedAt: Date.now(),
  };
}
