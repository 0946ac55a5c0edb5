// The proxy's own certificate (SDS `default`): a fresh key and CSR, issued by the controller's
// CA, renewed at about half its remaining life (with jitter, so a fleet does not renew in step),
// retried with back-off on failure while the old certificate serves until it expires.
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import { describeError } from "../../src/common/errors.js";
import type { Logger } from "../../src/common/logger.js";
import type { IssueCertificate } from "./ca-client.js";
import type { KeyAndCsr } from "./csr.js";
import { createKeyAndCsr } from "./csr.js";
import { leafFacts } from "./peer.js";

export interface WorkloadCertificate {
  readonly keyPem: string;
  /** PEM chain: leaf, then the issuing CA(s). */
  readonly chainPem: string;
  /** PEM roots the CA said are trusted when it issued this. */
  readonly trustBundle: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The leaf's URI SAN (its SPIFFE identity). */
  readonly uri: string | undefined;
  readonly serial: string;
  /** When the proxy received it. */
  readonly issuedAt: number;
}

export interface CertificateManagerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly issue: IssueCertificate;
  /** The identity the CSR asks for (the CA decides). */
  readonly spiffeId: string;
  /** Requested lifetime; 0 leaves it to the CA (24 h by default). */
  readonly validitySeconds?: number;
  readonly random?: () => number;
  readonly keyFactory?: (spiffeId: string) => Promise<KeyAndCsr>;
  /** Retry delays after a failure: doubling from `minMs`, capped at `maxMs`. */
  readonly retry?: { readonly minMs: number; readonly maxMs: number };
}

/** Renew when this fraction of the remaining lifetime has passed, minus up to JITTER of it. */
export const RENEW_FRACTION = 0.5;
export const RENEW_JITTER = 0.1;
const DEFAULT_RETRY = { minMs: 500, maxMs: 30_000 };

/** How long to wait before renewing a certificate that has `remainingMs` left. */
export function renewDelay(remainingMs: number, random: () => number): number {
  const fraction = RENEW_FRACTION - RENEW_JITTER * random();
  return Math.max(0, Math.floor(remainingMs * fraction));
}

export class CertificateManager {
  private cert: WorkloadCertificate | undefined;
  private timer: TimerHandle | undefined;
  private failures = 0;
  private closed = false;
  /** The key for the next renewal, made ahead so a renewal only waits for the CA. */
  private nextKey: Promise<KeyAndCsr> | undefined;
  private readonly listeners = new Set<(c: WorkloadCertificate | undefined) => void>();
  private resolveReady: ((c: WorkloadCertificate) => void) | undefined;
  /** Resolves with the first certificate. */
  readonly ready: Promise<WorkloadCertificate>;

  constructor(private readonly deps: CertificateManagerDeps) {
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
  }

  start(): void {
    void this.renew();
  }

  /** The certificate in force; undefined before the first and after expiry without renewal. */
  current(): WorkloadCertificate | undefined {
    const c = this.cert;
    return c !== undefined && c.notAfter > this.deps.clock.now() ? c : undefined;
  }

  onChange(listener: (c: WorkloadCertificate | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async renew(): Promise<void> {
    this.timer = undefined;
    const { clock, log } = this.deps;
    try {
      const { keyPem, csrPem } = await (this.deps.keyFactory ?? createKeyAndCsr)(
        this.deps.spiffeId,
      );
      const issued = await this.deps.issue(csrPem, this.deps.validitySeconds ?? 0);
      const chainPem = issued.certChain.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
      const facts = leafFacts(chainPem);
      const now = clock.now();
      if (facts.notAfter <= now)
        throw new Error(`the CA issued an expired certificate (${facts.serial})`);
      if (this.closed) return;
      this.cert = {
        keyPem,
        chainPem,
        trustBundle: issued.trustBundle,
        notBefore: facts.notBefore,
        notAfter: facts.notAfter,
        uri: facts.uris[0],
        serial: facts.serial,
        issuedAt: now,
      };
      this.failures = 0;
      this.nextKey = this.makeKey();
      const delay = renewDelay(facts.notAfter - now, this.deps.random ?? Math.random);
      log.info("certificate issued", {
        uri: facts.uris[0],
        serial: facts.serial,
        notAfter: new Date(facts.notAfter).toISOString(),
        renewInMs: delay,
      });
      this.schedule(delay);
      this.notify();
      this.resolveReady?.(this.cert);
      this.resolveReady = undefined;
    } catch (err) {
      if (this.closed) return;
      const retry = this.deps.retry ?? DEFAULT_RETRY;
      let delay = Math.min(retry.maxMs, retry.minMs * 2 ** this.failures);
      this.failures++;
      // Never sleep past the current certificate's expiry: try once more before it lapses.
      const c = this.current();
      if (c !== undefined)
        delay = Math.min(delay, Math.max(retry.minMs, (c.notAfter - clock.now()) / 2));
      log.warn("certificate request failed", { error: describeError(err), retryInMs: delay });
      this.schedule(delay);
    }
  }

  private makeKey(): Promise<KeyAndCsr> {
    const key = (this.deps.keyFactory ?? createKeyAndCsr)(this.deps.spiffeId);
    // A failure surfaces when the key is used; until then it must not be an unhandled rejection.
    key.catch(() => undefined);
    return key;
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    this.timer = this.deps.clock.setTimer(delay, () => {
      void this.renew();
    });
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l(this.cert);
      } catch (err) {
        this.deps.log.error("certificate listener failed", { error: describeError(err) });
      }
    }
  }
}
