// The CA's keys and certificates as the Secret `vireo-ca` holds them, generated, read, and rotated.
// Keys (Istio's `cacerts` names where they exist):
//   root-cert.pem    the active root                     (required)
//   root-key.pem     its key; when present and no issuer is given, an issuer is generated from it
//   ca-cert.pem      the issuing intermediate (signed by the root)
//   ca-key.pem       its key
//   trusted-roots.pem  further roots still trusted (the previous root during a rotation)
import { VireoError } from "../common/errors.js";
import type { CaMaterial } from "./authority.js";
import { uniqueRoots } from "./authority.js";
import type { KeyPair } from "./x509.js";
import { createIntermediate, createRoot, splitPem } from "./x509.js";

export const CA_SECRET = "vireo-ca";
export const ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
export const ISSUER_TTL_MS = 365 * 24 * 3600 * 1000;

export type CaSecretData = Readonly<Record<string, string>>;

export interface GeneratedCa {
  readonly material: CaMaterial;
  /** What to store, so every replica and restart signs under the same root. */
  readonly data: CaSecretData;
}

function issuerFor(root: KeyPair, trustDomain: string, now: number): KeyPair {
  return createIntermediate(root, "vireo issuing CA", trustDomain, {
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ISSUER_TTL_MS),
  });
}

/** A new self-signed root (10 years, as Istio's) and an issuer under it (1 year). */
export function generateCa(
  trustDomain: string,
  now: number,
  previousRoots: readonly string[] = [],
): GeneratedCa {
  const root = createRoot("vireo root CA", trustDomain, {
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ROOT_TTL_MS),
  });
  const issuer = issuerFor(root, trustDomain, now);
  const trusted = uniqueRoots(previousRoots).filter((r) => r !== uniqueRoots([root.certPem])[0]);
  const data: Record<string, string> = {
    "root-cert.pem": root.certPem,
    "root-key.pem": root.keyPem,
    "ca-cert.pem": issuer.certPem,
    "ca-key.pem": issuer.keyPem,
  };
  if (trusted.length > 0) data["trusted-roots.pem"] = trusted.join("");
  return { material: materialOf(issuer, root.certPem, trusted), data };
}

/**
 * A root rotation, first half: a new root signs from now on while the old ones stay trusted, so
 * certificates issued under either verify everywhere. Dropping the old root later is a second
 * write of `trusted-roots.pem`, once every workload holds a certificate from the new one.
 */
export function rotateRoot(current: CaSecretData, trustDomain: string, now: number): GeneratedCa {
  const old = [current["root-cert.pem"] ?? "", current["trusted-roots.pem"] ?? ""];
  return generateCa(trustDomain, now, old);
}

/**
 * A new issuer under the same root, replacing `ca-cert.pem`/`ca-key.pem`: certificates signed by
 * the old issuer still chain to the root everyone trusts, so they stay valid until they expire.
 * Needs `root-key.pem`; a user's own issuer (no root key here) is renewed by its owner.
 */
export function renewIssuer(current: CaSecretData, trustDomain: string, now: number): CaSecretData {
  const rootPem = current["root-cert.pem"];
  const rootKey = current["root-key.pem"];
  if (rootPem === undefined || rootKey === undefined) {
    throw new VireoError(
      "IssuerNotRenewable",
      `Secret ${CA_SECRET} has no root-key.pem: its issuer (ca-cert.pem) must be renewed by whoever holds the root key`,
    );
  }
  const issuer = issuerFor({ certPem: rootPem, keyPem: rootKey }, trustDomain, now);
  return { ...current, "ca-cert.pem": issuer.certPem, "ca-key.pem": issuer.keyPem };
}

/** The material in a Secret's data; missing pieces are a readable error, never a silent default. */
export function materialFromSecret(
  data: CaSecretData,
  trustDomain: string,
  now: number,
): CaMaterial {
  const rootPem = data["root-cert.pem"];
  if (rootPem === undefined || splitPem(rootPem).length === 0) {
    throw new VireoError("BadCaSecret", `Secret ${CA_SECRET} has no root-cert.pem certificate`);
  }
  const trusted = uniqueRoots([data["trusted-roots.pem"] ?? ""]);
  const caCert = data["ca-cert.pem"];
  const caKey = data["ca-key.pem"];
  if (caCert !== undefined && caKey !== undefined) {
    return materialOf({ certPem: caCert, keyPem: caKey }, rootPem, trusted);
  }
  const rootKey = data["root-key.pem"];
  if (rootKey === undefined) {
    throw new VireoError(
      "BadCaSecret",
      `Secret ${CA_SECRET} needs ca-cert.pem and ca-key.pem, or root-key.pem to generate an issuer`,
    );
  }
  return materialOf(
    issuerFor({ certPem: rootPem, keyPem: rootKey }, trustDomain, now),
    rootPem,
    trusted,
  );
}

function materialOf(issuer: KeyPair, rootPem: string, trusted: readonly string[]): CaMaterial {
  // A user's ca-cert.pem may carry its own chain up to the root; the root itself is not sent.
  const rootSet = new Set(uniqueRoots([rootPem]));
  const chain = uniqueRoots([issuer.certPem]).filter((c) => !rootSet.has(c));
  return {
    issuer: { certPem: chain[0] ?? issuer.certPem, keyPem: issuer.keyPem },
    chain,
    roots: uniqueRoots([rootPem, ...trusted]),
  };
}
