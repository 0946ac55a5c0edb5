// A fresh key pair and a PKCS#10 request for the workload's SPIFFE identity. RSA, because the
// controller's CA (node-forge) reads RSA requests; node:crypto makes the key off the main thread.
import { generateKeyPair } from "node:crypto";
import forge from "node-forge";

export interface KeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

const RSA_BITS = 2048;

function rsaKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      "rsa",
      {
        modulusLength: RSA_BITS,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      },
      (err, publicKey, privateKey) => {
        if (err !== null) reject(err);
        else resolve({ publicKey, privateKey });
      },
    );
  });
}

/** The CSR names `spiffeId` as its only URI SAN; the CA decides what the certificate says. */
export async function createKeyAndCsr(spiffeId: string): Promise<KeyAndCsr> {
  const { publicKey, privateKey } = await rsaKeyPair();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
  csr.setSubject([{ name: "organizationName", value: "vireo" }]);
  csr.setAttributes([
    {
      name: "extensionRequest",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 6, value: spiffeId }] }],
    },
  ]);
  const key = forge.pki.privateKeyFromPem(privateKey);
  csr.sign(key, forge.md.sha256.create());
  return { keyPem: privateKey, csrPem: forge.pki.certificationRequestToPem(csr) };
}
