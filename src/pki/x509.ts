// Certificate building on node-forge: keys come from node:crypto (native, fast) and are handed to
// forge as PEM; forge builds and signs the certificates. RSA only: forge signs nothing else.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export const RSA_BITS = 2048;

export function generateRsaKeyPem(bits = RSA_BITS): string {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** 128 random bits as hex with the top bit clear, so DER reads it as positive. */
export function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

function forgeKeys(keyPem: string): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
} {
  const privateKey = forge.pki.privateKeyFromPem(keyPem);
  const publicKey = forge.pki.rsa.setPublicKey(privateKey.n, privateKey.e);
  return { privateKey, publicKey };
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A self-signed root that may sign intermediates. */
export function createRoot(commonName: string, org: string, validity: Validity): KeyPair {
  const keyPem = generateRsaKeyPem();
  const { privateKey, publicKey } = forgeKeys(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  const name = [
    { name: "organizationName", value: org },
    { name: "commonName", value: commonName },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** An issuing CA signed by `issuer`, limited to signing leaves (pathLen 0). */
export function createIntermediate(
  issuer: KeyPair,
  commonName: string,
  org: string,
  validity: Validity,
): KeyPair {
  const keyPem = generateRsaKeyPem();
  const { publicKey } = forgeKeys(keyPem);
  const issuerCert = forge.pki.certificateFromPem(issuer.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = clampTo(validity.notAfter, issuerCert.validity.notAfter);
  cert.setSubject([
    { name: "organizationName", value: org },
    { name: "commonName", value: commonName },
  ]);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
    authorityKeyId(issuerCert),
  ]);
  cert.sign(forgeKeys(issuer.keyPem).privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

export type SubjectAltName =
  | { readonly kind: "uri"; readonly value: string }
  | { readonly kind: "dns"; readonly value: string }
  | { readonly kind: "ip"; readonly value: string };

/**
 * A leaf for mTLS (server and client auth) for `publicKey`, with an empty subject and a critical
 * SAN extension, as Istio issues them.
 */
export function signLeaf(
  issuer: KeyPair,
  publicKey: forge.pki.PublicKey,
  sans: readonly SubjectAltName[],
  validity: Validity,
): string {
  const issuerCert = forge.pki.certificateFromPem(issuer.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = clampTo(validity.notAfter, issuerCert.validity.notAfter);
  cert.setSubject([]);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    authorityKeyId(issuerCert),
    {
      name: "subjectAltName",
      critical: true,
      altNames: sans.map((s) =>
        s.kind === "uri"
          ? { type: 6, value: s.value }
          : s.kind === "dns"
            ? { type: 2, value: s.value }
            : { type: 7, ip: s.value },
      ),
    },
  ]);
  cert.sign(forgeKeys(issuer.keyPem).privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A fresh key and a leaf for it, for the controller's own server certificate. */
export function createLeafWithKey(
  issuer: KeyPair,
  sans: readonly SubjectAltName[],
  validity: Validity,
): KeyPair {
  const keyPem = generateRsaKeyPem();
  return { certPem: signLeaf(issuer, forgeKeys(keyPem).publicKey, sans, validity), keyPem };
}

function authorityKeyId(issuer: forge.pki.Certificate): { name: string; keyIdentifier: string } {
  const ski = issuer.getExtension("subjectKeyIdentifier") as {
    subjectKeyIdentifier?: string;
  } | null;
  const id =
    ski?.subjectKeyIdentifier !== undefined
      ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
      : forge.pki.getPublicKeyFingerprint(issuer.publicKey, { type: "RSAPublicKey" }).getBytes();
  return { name: "authorityKeyIdentifier", keyIdentifier: id };
}

function clampTo(d: Date, max: Date): Date {
  return d.getTime() > max.getTime() ? max : d;
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
