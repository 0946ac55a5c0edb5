// The certificate authority: signs workload certificates with the issuing (intermediate) key for
// exactly the identity it is told, and knows the roots every workload must currently trust.
import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import type { Clock } from "../common/clock.js";
import { VireoError } from "../common/errors.js";
import type { WorkloadIdentity } from "./spiffe.js";
import { spiffeUri } from "./spiffe.js";
import type { KeyPair, SubjectAltName } from "./x509.js";
import { createLeafWithKey, signLeaf, splitPem } from "./x509.js";

export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 3600;
/** Certificates are dated this far back so peers whose clocks lag a little accept them. */
export const BACKDATE_MS = 60_000;
/** The shortest life worth issuing; nearer the issuer's end, issuance waits for its renewal. */
export const MIN_LEAF_LIFE_MS = 60_000;

export interface CaMaterial {
  /** Signs leaves. */
  readonly issuer: KeyPair;
  /** PEM certificates between the issuer and its root (the issuer's first), sent with each leaf. */
  readonly chain: readonly string[];
  /** Every root currently trusted, the active one first (old and new during a rotation). */
  readonly roots: readonly string[];
}

export interface IssuedCertificate {
  /** Leaf first, then the issuing CA certificate(s). */
  readonly certChain: readonly string[];
  readonly trustBundle: string;
}

export interface AuthorityOptions {
  readonly clock: Clock;
  readonly defaultTtlSeconds?: number;
  /** The longest lifetime a caller may ask for (default: the default TTL). */
  readonly maxTtlSeconds?: number;
}

export class CertificateAuthority {
  private issuerEnd: number;

  constructor(
    private material: CaMaterial,
    private readonly options: AuthorityOptions,
  ) {
    this.issuerEnd = notAfterOf(material.issuer.certPem);
  }

  /** Swaps in new material (a rotated root or issuer); later issuance uses it. */
  update(material: CaMaterial): void {
    this.material = material;
    this.issuerEnd = notAfterOf(material.issuer.certPem);
  }

  get current(): CaMaterial {
    return this.material;
  }

  get roots(): readonly string[] {
    return this.material.roots;
  }

  trustBundle(): string {
    return this.material.roots.map((r) => r.trim()).join("\n") + "\n";
  }

  /**
   * Signs the key of `csrPem` for `identity` and nothing else. A CSR that asks for any other
   * subject alternative name, or whose signature does not verify, is refused.
   */
  issue(csrPem: string, identity: WorkloadIdentity, validitySeconds = 0): IssuedCertificate {
    const uri = spiffeUri(identity);
    const csr = parseCsr(csrPem);
    for (const asked of requestedSans(csr)) {
      if (!(asked.kind === "uri" && asked.value === uri)) {
        throw new VireoError(
          "CsrIdentityMismatch",
          `the CSR asks for ${asked.kind} ${asked.value}, but the caller is ${uri}`,
        );
      }
    }
    if (csr.publicKey === null) throw new VireoError("BadCsr", "the CSR carries no public key");
    const leaf = signLeaf(
      this.material.issuer,
      csr.publicKey,
      [{ kind: "uri", value: uri }],
      this.validity(validitySeconds),
    );
    return { certChain: [leaf, ...this.material.chain], trustBundle: this.trustBundle() };
  }

  /** A certificate and key for the controller's own TLS port. */
  serverCertificate(
    sans: readonly SubjectAltName[],
    ttlSeconds: number,
  ): { certChainPem: string; keyPem: string } {
    const kp = createLeafWithKey(this.material.issuer, sans, this.validity(ttlSeconds, ttlSeconds));
    return { certChainPem: [kp.certPem, ...this.material.chain].join(""), keyPem: kp.keyPem };
  }

  /** When the issuer stops being valid (ms since the epoch). */
  issuerNotAfter(): number {
    return this.issuerEnd;
  }

  private validity(requested: number, max?: number): { notBefore: Date; notAfter: Date } {
    const def = this.options.defaultTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS;
    const cap = max ?? this.options.maxTtlSeconds ?? def;
    const ttl =
      Number.isFinite(requested) && requested > 0 ? Math.min(requested, cap) : Math.min(def, cap);
    const now = this.options.clock.now();
    // A leaf cannot outlive its issuer (signLeaf clamps it); one that would live less than a
    // minute, or be born expired, is refused: the caller retries once the issuer is renewed.
    const issuerEnd = this.issuerNotAfter();
    if (issuerEnd - now < MIN_LEAF_LIFE_MS) {
      throw new VireoError(
        "IssuerExpired",
        `the issuing CA expires at ${new Date(issuerEnd).toISOString()} and has not been renewed (Secret vireo-ca)`,
      );
    }
    return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + ttl * 1000) };
  }
}

function notAfterOf(certPem: string): number {
  return Date.parse(new X509Certificate(certPem).validTo);
}

function parseCsr(pem: string): forge.pki.CertificateSigningRequest {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (err) {
    throw new VireoError("BadCsr", "the CSR is not a PEM PKCS#10 request with an RSA key", {
      cause: err,
    });
  }
  let valid: boolean;
  try {
    valid = csr.verify();
  } catch {
    valid = false; // forge throws on a signature block that does not even decode
  }
  if (!valid) throw new VireoError("BadCsr", "the CSR signature does not verify");
  return csr;
}

interface ForgeAltName {
  type: number;
  value?: string;
  ip?: string;
}

function requestedSans(csr: forge.pki.CertificateSigningRequest): SubjectAltName[] {
  const attr = csr.getAttribute({ name: "extensionRequest" }) as {
    extensions?: { name?: string; altNames?: ForgeAltName[] }[];
  } | null;
  const out: SubjectAltName[] = [];
  for (const ext of attr?.extensions ?? []) {
    if (ext.name !== "subjectAltName") continue;
    for (const n of ext.altNames ?? []) {
      if (n.type === 6) out.push({ kind: "uri", value: n.value ?? "" });
      else if (n.type === 2) out.push({ kind: "dns", value: n.value ?? "" });
      else if (n.type === 7) out.push({ kind: "ip", value: n.ip ?? "" });
      else out.push({ kind: "dns", value: `(SAN type ${String(n.type)})` });
    }
  }
  return out;
}

/** Certificates of a trust bundle, each once, in order. */
export function uniqueRoots(pems: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const bundle of pems) {
    for (const c of splitPem(bundle)) {
      const norm = c.replace(/\r/g, "").trim() + "\n";
      if (!seen.has(norm)) {
        seen.add(norm);
        out.push(norm);
      }
    }
  }
  return out;
}
