// Test helper: a PKCS#10 request with an RSA key, optionally asking for subject alternative names.
import { generateKeyPairSync } from "node:crypto";
import forge from "node-forge";

export interface Csr {
  readonly csrPem: string;
  readonly keyPem: string;
}

export function makeCsr(uris: readonly string[] = [], dns: readonly string[] = []): Csr {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.rsa.setPublicKey(key.n, key.e);
  const altNames = [
    ...uris.map((value) => ({ type: 6, value })),
    ...dns.map((value) => ({ type: 2, value })),
  ];
  if (altNames.length > 0) {
    csr.setAttributes([
      { name: "extensionRequest", extensions: [{ name: "subjectAltName", altNames }] },
    ]);
  }
  csr.sign(key, forge.md.sha256.create());
  return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem };
}
