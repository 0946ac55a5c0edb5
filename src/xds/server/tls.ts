// TLS for the control plane's port: a server certificate from our CA, and client certificates
// requested but not required (a caller may authenticate with a token instead). Both can be
// swapped at run time (root rotation, server certificate renewal).
import * as grpc from "@grpc/grpc-js";

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaCertificateUpdateListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface ServerTlsMaterial {
  /** PEM roots client certificates are verified against. */
  readonly trustBundle: string;
  /** PEM server certificate then its issuers. */
  readonly certChain: string;
  readonly keyPem: string;
}

export class StaticCertificateProvider implements CertificateProvider {
  private readonly ca = new Set<CaCertificateUpdateListener>();
  private readonly identity = new Set<IdentityCertificateUpdateListener>();

  constructor(private material: ServerTlsMaterial) {}

  update(material: ServerTlsMaterial): void {
    this.material = material;
    for (const l of this.ca) l(this.caUpdate());
    for (const l of this.identity) l(this.identityUpdate());
  }

  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.ca.add(listener);
    // Later, not now: grpc-js registers its own watcher only after this call returns, and an
    // update delivered before that is lost (the server would drop every connection).
    setImmediate(() => {
      if (this.ca.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaCertificateUpdateListener): void {
    this.ca.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identity.add(listener);
    setImmediate(() => {
      if (this.identity.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    this.identity.delete(listener);
  }

  private caUpdate(): { caCertificate: Buffer } {
    return { caCertificate: Buffer.from(this.material.trustBundle) };
  }

  private identityUpdate(): { certificate: Buffer; privateKey: Buffer } {
    return {
      certificate: Buffer.from(this.material.certChain),
      privateKey: Buffer.from(this.material.keyPem),
    };
  }
}

/** Server credentials that verify an offered client certificate but do not require one. */
export function serverCredentials(provider: StaticCertificateProvider): grpc.ServerCredentials {
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
