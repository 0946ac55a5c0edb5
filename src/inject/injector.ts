// The webhook as the controller runs it: the HTTPS port with a serving certificate from vireo's
// CA for the webhook Service's names, renewed at half its life and at a root rotation (like the
// xDS port's), and the MutatingWebhookConfiguration's caBundle kept equal to the trust bundle.
import type { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { CertificateAuthority } from "../pki/authority.js";
import { REFRESH_MS, SERVER_CERT_TTL_SECONDS, serverSans } from "../pki/security.js";
import { syncCaBundle } from "./ca-bundle.js";
import type { InjectConfig } from "./config.js";
import type { ServingCertificate, WebhookServer } from "./webhook-server.js";
import { startWebhookServer } from "./webhook-server.js";

export interface InjectorDeps {
  readonly authority: CertificateAuthority;
  readonly trustBundle: () => string;
  readonly admission: AdmissionregistrationV1Api;
  readonly clock: Clock;
  readonly log: Logger;
  readonly port: number;
  readonly host: string;
  readonly namespace: string;
  /** The Service in front of every replica's webhook port. */
  readonly serviceName: string;
  readonly configurationName: string;
  readonly config: InjectConfig;
}

export class Injector {
  private timer: TimerHandle | undefined;
  private issuedAt = 0;

  private constructor(
    private readonly deps: InjectorDeps,
    private readonly server: WebhookServer,
  ) {}

  static async start(deps: InjectorDeps): Promise<Injector> {
    const server = await startWebhookServer({
      port: deps.port,
      host: deps.host,
      certificate: issue(deps),
      config: deps.config,
      log: deps.log,
    });
    const inj = new Injector(deps, server);
    inj.issuedAt = deps.clock.now();
    await inj.syncBundle();
    inj.schedule();
    deps.log.info("injection webhook serving", { port: server.port });
    return inj;
  }

  get port(): number {
    return this.server.port;
  }

  /** The roots changed (ControllerSecurity's callback): new certificate, new caBundle. */
  rootsChanged(): void {
    this.renew();
    void this.syncBundle();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.server.close();
  }

  private renew(): void {
    this.server.setCertificate(issue(this.deps));
    this.issuedAt = this.deps.clock.now();
  }

  private async syncBundle(): Promise<void> {
    const { admission, configurationName, log } = this.deps;
    try {
      const n = await syncCaBundle(admission, configurationName, this.deps.trustBundle());
      if (n > 0) log.info("caBundle updated", { configuration: configurationName, webhooks: n });
    } catch (err) {
      // Not installed (the chart's injection.enabled=false, or a test): nothing to keep current.
      if (err instanceof ApiException && err.code === 404) return;
      log.warn("could not update the webhook caBundle", {
        configuration: configurationName,
        error: err instanceof Error ? err : String(err),
      });
    }
  }

  private schedule(): void {
    this.timer = this.deps.clock.setTimer(REFRESH_MS, () => {
      if (this.deps.clock.now() - this.issuedAt > (SERVER_CERT_TTL_SECONDS * 1000) / 2) {
        this.renew();
      }
      // Also repairs a caBundle someone (a `helm upgrade`) reset.
      void this.syncBundle().finally(() => {
        if (this.timer !== undefined) this.schedule();
      });
    });
  }
}

function issue(deps: InjectorDeps): ServingCertificate {
  return deps.authority.serverCertificate(
    serverSans({ serviceName: deps.serviceName, namespace: deps.namespace, xdsHost: deps.host }),
    SERVER_CERT_TTL_SECONDS,
  );
}
