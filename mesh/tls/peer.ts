// Reading identities out of certificates: the URI SANs node reports in `subjectaltname`.
import { X509Certificate } from "node:crypto";

/** `URI:spiffe://a/b, DNS:x` → the URIs, in order. Node escapes commas inside values. */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined || subjectAltName === "") return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(/,\s*/)) {
    if (part.startsWith("URI:")) out.push(part.slice(4).replace(/^"|"$/g, ""));
  }
  return out;
}

export interface CertificateFacts {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly uris: readonly string[];
  readonly serial: string;
}

/** Facts of the first (leaf) certificate of a PEM chain. */
export function leafFacts(chainPem: string): CertificateFacts {
  const cert = new X509Certificate(chainPem);
  return {
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    uris: uriSans(cert.subjectAltName),
    serial: cert.serialNumber,
  };
}
