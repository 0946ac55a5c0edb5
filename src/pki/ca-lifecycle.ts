// When the CA changes: a pure plan from the Secret's data, what the controller last loaded, and the
// time. The issuer is renewed at two thirds of its life (as cert-manager's default renewBefore and
// istiod's self-signed CA do), so a year-old install never signs with an expired issuer.
import { createHash } from "node:crypto";
import { X509Certificate } from "node:crypto";
import type { CaMaterial } from "./authority.js";
import type { CaSecretData } from "./ca-material.js";
import { materialFromSecret, renewIssuer } from "./ca-material.js";

/** The fraction of the issuer's life after which it is renewed. */
export const ISSUER_RENEW_AT = 2 / 3;

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

export function validityOf(certPem: string): Validity {
  const c = new X509Certificate(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** The moment an issuer with this validity is due for renewal. */
export function renewalTime(v: Validity): number {
  return v.notBefore + Math.floor((v.notAfter - v.notBefore) * ISSUER_RENEW_AT);
}

/** Identifies the Secret's content, so any change (roots, issuer, keys) is seen. */
export function fingerprint(data: CaSecretData): string {
  const h = createHash("sha256");
  for (const k of Object.keys(data).sort()) h.update(`${k}\0${data[k] ?? ""}\0`);
  return h.digest("hex");
}

export type CaRefreshPlan =
  /** Nothing to do. */
  | { readonly kind: "unchanged" }
  /** The Secret changed (a rotation, a new issuer written by someone): load it. */
  | {
      readonly kind: "reload";
      readonly material: CaMaterial;
      readonly fingerprint: string;
      readonly rootsChanged: boolean;
    }
  /** The stored issuer is due: write `data` to the Secret (with a precondition), then load it. */
  | { readonly kind: "renew-stored"; readonly data: CaSecretData; readonly material: CaMaterial }
  /** The issuer made in memory from `root-key.pem` is due: make a new one. */
  | { readonly kind: "renew-in-memory"; readonly material: CaMaterial }
  /** Due, but there is no root key to renew with: say so, loudly. */
  | {
      readonly kind: "cannot-renew";
      readonly notAfter: number;
      readonly reason: "no-root-key" | "root-expiring";
    };

export interface CaRefreshInput {
  readonly data: CaSecretData;
  /** The fingerprint of the data the current material came from. */
  readonly loaded: string;
  readonly current: CaMaterial;
  readonly trustDomain: string;
  readonly now: number;
}

export function planCaRefresh(i: CaRefreshInput): CaRefreshPlan {
  const fp = fingerprint(i.data);
  if (fp !== i.loaded) {
    const material = materialFromSecret(i.data, i.trustDomain, i.now);
    return {
      kind: "reload",
      material,
      fingerprint: fp,
      rootsChanged: material.roots.join("") !== i.current.roots.join(""),
    };
  }
  const life = validityOf(i.current.issuer.certPem);
  if (i.now < renewalTime(life)) return { kind: "unchanged" };
  if (i.data["root-key.pem"] === undefined)
    return { kind: "cannot-renew", notAfter: life.notAfter, reason: "no-root-key" };
  // An issuer cannot outlive its root: once the root ends first, only a root rotation helps.
  const root = i.current.roots[0];
  if (root !== undefined && validityOf(root).notAfter <= life.notAfter)
    return { kind: "cannot-renew", notAfter: life.notAfter, reason: "root-expiring" };
  if (i.data["ca-cert.pem"] === undefined) {
    // No stored issuer: materialFromSecret makes a fresh one from the root key.
    return { kind: "renew-in-memory", material: materialFromSecret(i.data, i.trustDomain, i.now) };
  }
  const data = renewIssuer(i.data, i.trustDomain, i.now);
  return {
    kind: "renew-stored",
    data,
    material: materialFromSecret(data, i.trustDomain, i.now),
  };
}
