// The proxy's TLS material as node secure contexts: its own certificate (SDS `default`, from the
// certificate manager) with a trust bundle (an SDS secret from xDS, `ROOTCA`). Contexts are
// built once per certificate and bundle and picked per handshake, so a rotation never restarts a
// listener or a pool: new connections get the new context, open ones keep theirs.
import tls from "node:tls";
import type { RoutingSnapshot } from "../routing/model.js";
import { TRUST_BUNDLE_SECRET } from "../routing/security-model.js";
import type { WorkloadCertificate } from "./cert-manager.js";

export interface TlsMaterialSource {
  /** The secure context for a peer verified against the named trust bundle; undefined: none yet. */
  context(validationSecret: string): tls.SecureContext | undefined;
  /** What `context` is made of: the same object until the certificate or bundle changes. */
  contextOptions(validationSecret: string): tls.SecureContextOptions | undefined;
  /** The proxy's own SPIFFE URI, once it has a certificate. */
  identity(): string | undefined;
}

/** Contexts kept: the current pair and a few before it, for handshakes racing a rotation. */
const CACHE_SIZE = 4;

export class TlsMaterial implements TlsMaterialSource {
  private readonly cache = new Map<
    string,
    { readonly options: tls.SecureContextOptions; readonly context: tls.SecureContext }
  >();

  constructor(
    private readonly certificate: () => WorkloadCertificate | undefined,
    private readonly snapshot: () => RoutingSnapshot,
  ) {}

  /**
   * The bundle xDS sent under that name; before it has arrived, the bundle the CA returned with
   * the certificate stands in for `ROOTCA` (both come from the same controller).
   */
  roots(validationSecret: string): string | undefined {
    const sent = this.snapshot().secrets?.get(validationSecret)?.trustedCa;
    if (sent !== undefined) return sent;
    if (validationSecret !== TRUST_BUNDLE_SECRET) return undefined;
    const bundle = this.certificate()?.trustBundle;
    return bundle === undefined || bundle === "" ? undefined : bundle;
  }

  context(validationSecret: string): tls.SecureContext | undefined {
    return this.entry(validationSecret)?.context;
  }

  contextOptions(validationSecret: string): tls.SecureContextOptions | undefined {
    return this.entry(validationSecret)?.options;
  }

  private entry(
    validationSecret: string,
  ): { options: tls.SecureContextOptions; context: tls.SecureContext } | undefined {
    const cert = this.certificate();
    const roots = this.roots(validationSecret);
    if (cert === undefined || roots === undefined) return undefined;
    const key = `${cert.serial}\n${cert.issuedAt}\n${roots}`;
    let e = this.cache.get(key);
    if (e === undefined) {
      const options = {
        key: cert.keyPem,
        cert: cert.chainPem,
        ca: roots,
        minVersion: "TLSv1.2" as const,
      };
      e = { options, context: tls.createSecureContext(options) };
      this.cache.set(key, e);
      if (this.cache.size > CACHE_SIZE) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    return e;
  }

  identity(): string | undefined {
    return this.certificate()?.uri;
  }
}
