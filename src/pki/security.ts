// The controller's security side, composed: the CA from its Secret, the authenticator, TLS for the
// xDS port, and the root ConfigMaps; refreshed periodically so a root rotation written to the
// Secret reaches the issuer, the port, the snapshot's ROOTCA and every namespace.
import { networkInterfaces } from "node:os";
import type { AuthenticationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { serverCredentials, StaticCertificateProvider } from "../xds/server/tls.js";
import type * as grpc from "@grpc/grpc-js";
import { CertificateAuthority } from "./authority.js";
import { ensureCaMaterial, readCaSecret } from "./ca-secret.js";
import { materialFromSecret } from "./ca-material.js";
import { CallerAuthenticator } from "./caller.js";
import { RootCertPublisher } from "./root-cert-publisher.js";
import { KubeTokenReviewer } from "./token-review.js";
import type { SubjectAltName } from "./x509.js";

export const SERVER_CERT_TTL_SECONDS = 7 * 24 * 3600;
export const REFRESH_MS = 30_000;

export interface SecurityDeps {
  readonly core: CoreV1Api;
  readonly authn: AuthenticationV1Api;
  readonly clock: Clock;
  readonly log: Logger;
  readonly namespace: string;
  readonly trustDomain: string;
  /** The controller Service's name, for the server certificate's DNS names. */
  readonly serviceName: string;
  readonly xdsHost: string;
  readonly onlyNamespace: string | undefined;
  /** Called when the trust bundle changed (to rebuild the snapshot's ROOTCA). */
  readonly onTrustBundle: (bundle: string) => void;
}

export class ControllerSecurity {
  readonly authority: CertificateAuthority;
  readonly authenticator: CallerAuthenticator;
  private readonly provider: StaticCertificateProvider;
  private readonly publisher: RootCertPublisher;
  private timer: TimerHandle | undefined;
  private bundle: string;
  private server: { trustBundle: string; certChain: string; keyPem: string; issuedAt: number };

  private constructor(
    private readonly deps: SecurityDeps,
    authority: CertificateAuthority,
  ) {
    this.authority = authority;
    this.bundle = authority.trustBundle();
    this.authenticator = new CallerAuthenticator(
      new KubeTokenReviewer(deps.authn),
      deps.trustDomain,
    );
    this.server = this.serverMaterial();
    this.provider = new StaticCertificateProvider(this.server);
    this.publisher = new RootCertPublisher({
      core: deps.core,
      log: deps.log,
      onlyNamespace: deps.onlyNamespace,
    });
  }

  static async start(deps: SecurityDeps): Promise<ControllerSecurity> {
    const material = await ensureCaMaterial({ ...deps, now: () => deps.clock.now() });
    const s = new ControllerSecurity(
      deps,
      new CertificateAuthority(material, { clock: deps.clock }),
    );
    await s.publisher.publish(s.bundle);
    s.schedule();
    return s;
  }

  trustBundle(): string {
    return this.bundle;
  }

  /** The xDS port's current certificate chain (PEM). */
  serverCertificate(): string {
    return this.server.certChain;
  }

  credentials(): grpc.ServerCredentials {
    return serverCredentials(this.provider);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Rereads the Secret (a rotation), renews the server certificate, republishes the roots. */
  async refresh(): Promise<void> {
    const data = await readCaSecret({ ...this.deps, now: () => this.deps.clock.now() });
    if (data !== undefined) {
      const material = materialFromSecret(data, this.deps.trustDomain, this.deps.clock.now());
      if (material.roots.join("") !== this.authority.roots.join("")) {
        this.authority.update(material);
        this.bundle = this.authority.trustBundle();
        this.renewServerCertificate();
        this.deps.log.info("CA roots changed", { roots: material.roots.length });
        this.deps.onTrustBundle(this.bundle);
      }
    }
    // The port's own certificate is renewed at half its life, like a workload's.
    if (this.deps.clock.now() - this.server.issuedAt > (SERVER_CERT_TTL_SECONDS * 1000) / 2) {
      this.renewServerCertificate();
    }
    await this.publisher.publish(this.bundle);
  }

  private schedule(): void {
    this.timer = this.deps.clock.setTimer(REFRESH_MS, () => {
      this.refresh()
        .catch((err: unknown) => {
          this.deps.log.warn("CA refresh failed", {
            error: err instanceof Error ? err : String(err),
          });
        })
        .finally(() => {
          if (this.timer !== undefined) this.schedule();
        });
    });
  }

  private renewServerCertificate(): void {
    this.server = this.serverMaterial();
    this.provider.update(this.server);
  }

  private serverMaterial(): {
    trustBundle: string;
    certChain: string;
    keyPem: string;
    issuedAt: number;
  } {
    const sc = this.authority.serverCertificate(serverSans(this.deps), SERVER_CERT_TTL_SECONDS);
    return {
      trustBundle: this.bundle,
      certChain: sc.certChainPem,
      keyPem: sc.keyPem,
      issuedAt: this.deps.clock.now(),
    };
  }
}

/** DNS names of the controller Service, plus the addresses the port is bound to. */
export function serverSans(d: {
  serviceName: string;
  namespace: string;
  xdsHost: string;
}): SubjectAltName[] {
  const svc = d.serviceName;
  const dns = [
    svc,
    `${svc}.${d.namespace}`,
    `${svc}.${d.namespace}.svc`,
    `${svc}.${d.namespace}.svc.cluster.local`,
    "localhost",
  ];
  const ips =
    d.xdsHost === "0.0.0.0" || d.xdsHost === "::"
      ? Object.values(networkInterfaces())
          .flat()
          .map((i) => i?.address)
          .filter((a): a is string => a !== undefined && !a.includes("%"))
      : [d.xdsHost];
  return [
    ...dns.map((value) => ({ kind: "dns" as const, value })),
    ...[...new Set(ips)].map((value) => ({ kind: "ip" as const, value })),
  ];
}
