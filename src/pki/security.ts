// The controller's security side, composed: the CA from its Secret, the authenticator, TLS for the
// xDS port, and the root ConfigMaps; refreshed periodically so a root rotation or a new issuer
// written to the Secret reaches the issuer, the port, the snapshot's ROOTCA and every namespace,
// and the issuer is renewed before it expires.
import { networkInterfaces } from "node:os";
import type { AuthenticationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import { assertNever } from "../common/assert-never.js";
import type { Clock, TimerHandle } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { serverCredentials, StaticCertificateProvider } from "../xds/server/tls.js";
import type * as grpc from "@grpc/grpc-js";
import { CertificateAuthority } from "./authority.js";
import type { CaSecretDeps } from "./ca-secret.js";
import { ensureCaSecret, readCaSecretVersion, writeCaSecret } from "./ca-secret.js";
import type { CaRefreshPlan } from "./ca-lifecycle.js";
import { fingerprint, planCaRefresh, validityOf } from "./ca-lifecycle.js";
import type { CaMaterial } from "./authority.js";
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
  /** The refresh running now: a second one waits for it (two would race for the same write). */
  private refreshing: Promise<void> = Promise.resolve();
  private bundle: string;
  private server: { trustBundle: string; certChain: string; keyPem: string; issuedAt: number };

  /** The fingerprint of the Secret data the authority's material came from. */
  private loaded: string;
  /** The issuer expiry last reported as not renewable (said once, not every 30 s). */
  private warnedFor: number | undefined;

  private constructor(
    private readonly deps: SecurityDeps,
    authority: CertificateAuthority,
    loaded: string,
  ) {
    this.loaded = loaded;
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
      ownNamespace: deps.namespace,
    });
  }

  static async start(deps: SecurityDeps): Promise<ControllerSecurity> {
    const { material, data } = await ensureCaSecret({ ...deps, now: () => deps.clock.now() });
    const s = new ControllerSecurity(
      deps,
      new CertificateAuthority(material, { clock: deps.clock }),
      fingerprint(data),
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

  /**
   * Rereads the Secret (a rotation, a new issuer), renews the issuer when it is due, renews the
   * server certificate, republishes the roots. Calls run one after another.
   */
  refresh(): Promise<void> {
    const run = this.refreshing.then(() => this.refreshOnce());
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  private async refreshOnce(): Promise<void> {
    const read = await readCaSecretVersion(this.secretDeps());
    // A Secret changed to an issuer already due (written by hand, restored from a backup) is
    // loaded, then renewed in the same refresh rather than 30 s later.
    for (let pass = 0; read !== undefined && pass < 2; pass++) {
      const plan = planCaRefresh({
        data: read.data,
        loaded: this.loaded,
        current: this.authority.current,
        trustDomain: this.deps.trustDomain,
        now: this.deps.clock.now(),
      });
      if (!(await this.apply(plan, read.resourceVersion))) break;
    }
    // The port's own certificate is renewed at half its life, like a workload's.
    if (this.deps.clock.now() - this.server.issuedAt > (SERVER_CERT_TTL_SECONDS * 1000) / 2) {
      this.renewServerCertificate();
    }
    await this.publisher.publish(this.bundle);
  }

  /** Carries out a refresh plan; true when the Secret was loaded anew (plan again on it). */
  private async apply(plan: CaRefreshPlan, resourceVersion: string | undefined): Promise<boolean> {
    switch (plan.kind) {
      case "unchanged":
        break;
      case "reload":
        this.load(plan.material, plan.fingerprint, "CA changed in Secret vireo-ca");
        return true;
      case "renew-stored":
        // Another replica may renew at the same moment: the precondition lets one write win;
        // the others read the winner's issuer at their next refresh.
        try {
          await writeCaSecret(this.secretDeps(), plan.data, resourceVersion);
        } catch (err) {
          if (err instanceof ApiException && err.code === 409) break;
          throw err;
        }
        this.load(plan.material, fingerprint(plan.data), "issuing CA renewed");
        break;
      case "renew-in-memory":
        this.load(plan.material, this.loaded, "issuing CA renewed (in memory, from root-key.pem)");
        break;
      case "cannot-renew":
        if (this.warnedFor !== plan.notAfter) {
          this.warnedFor = plan.notAfter;
          this.deps.log.error("the issuing CA is due for renewal and cannot be renewed", {
            notAfter: new Date(plan.notAfter).toISOString(),
            reason:
              plan.reason === "no-root-key"
                ? "Secret vireo-ca has no root-key.pem: write a new ca-cert.pem/ca-key.pem"
                : "the root expires first: rotate the root (vireo ca rotate-root)",
          });
        }
        break;
      default:
        assertNever(plan);
    }
    return false;
  }

  private secretDeps(): CaSecretDeps {
    return { ...this.deps, now: () => this.deps.clock.now() };
  }

  /** When the issuer and the active root stop being valid (ms since the epoch), for metrics. */
  expiry(): { issuer: number; root: number } {
    const root = this.authority.roots[0];
    return {
      issuer: this.authority.issuerNotAfter(),
      root: root === undefined ? 0 : validityOf(root).notAfter,
    };
  }

  private load(material: CaMaterial, loaded: string, message: string): void {
    const rootsChanged = material.roots.join("") !== this.authority.roots.join("");
    this.authority.update(material);
    this.loaded = loaded;
    this.bundle = this.authority.trustBundle();
    // The port's certificate comes from the new issuer (and chains to the new root) at once.
    this.renewServerCertificate();
    this.deps.log.info(message, {
      roots: material.roots.length,
      rootsChanged,
      issuerNotAfter: new Date(this.authority.issuerNotAfter()).toISOString(),
    });
    if (rootsChanged) this.deps.onTrustBundle(this.bundle);
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
