// One upstream cluster at run time: its endpoints' health, load balancer, connection pools and
// circuit-breaker counters. Configuration comes from the snapshot; state outlives snapshots.
import type { Clock } from "../../src/common/clock.js";
import type { Cancel } from "./cancel.js";
import type { ClusterConfig, EndpointSet } from "../routing/model.js";
import { H1Pool } from "./h1-pool.js";
import { H2Pool } from "./h2-pool.js";
import type { Candidate, LoadBalancer } from "./load-balancer.js";
import { createLoadBalancer, nonEmpty } from "./load-balancer.js";
import type { AttemptOutcome, BodyTake, UpstreamRequest } from "./outcome.js";
import { failure } from "./outcome.js";
import { OutlierDetector } from "./outlier-detector.js";
import type { TlsMaterialSource } from "../tls/material.js";
import type { SecureTarget } from "./tls-connect.js";
import { tlsTarget, UpstreamTlsError } from "./tls-connect.js";

export interface ClusterDeps {
  readonly clock: Clock;
  readonly random: () => number;
  /** The proxy's certificate and trust bundles, for clusters with upstream TLS. */
  readonly tls?: TlsMaterialSource;
}

export interface SendOptions {
  /** Speak HTTP/2 to the endpoint (the cluster says so, or the request needs it). */
  readonly http2: boolean;
  readonly signal: Cancel;
  /** Hosts this request already tried: avoided while others are healthy (Envoy's previous_hosts). */
  readonly exclude?: ReadonlySet<string>;
}

function hostKey(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export class UpstreamCluster {
  private active = 0;
  private pending = 0;
  private retries = 0;
  private readonly perHost = new Map<string, number>();
  private candidates: readonly Candidate[] = [];
  private lb: LoadBalancer;
  private readonly outlier: OutlierDetector;
  private h1: H1Pool | undefined;
  private h2: H2Pool | undefined;
  private readonly activeOf = (key: string): number => this.perHost.get(key) ?? 0;

  constructor(
    private config: ClusterConfig,
    private endpoints: EndpointSet | undefined,
    private readonly deps: ClusterDeps,
  ) {
    this.lb = createLoadBalancer(config.lb, deps.random);
    this.outlier = new OutlierDetector(config.outlier, deps.clock);
    this.setEndpoints(endpoints);
  }

  get name(): string {
    return this.config.name;
  }

  get http2(): boolean {
    return this.config.http2;
  }

  /** Connections to this cluster are mutual TLS. */
  get mutualTls(): boolean {
    return this.config.tls !== undefined;
  }

  get idle(): boolean {
    return this.active === 0;
  }

  update(config: ClusterConfig, endpoints: EndpointSet | undefined): void {
    if (config !== this.config) {
      if (config.lb !== this.config.lb) this.lb = createLoadBalancer(config.lb, this.deps.random);
      this.outlier.configure(config.outlier);
      this.h1?.setMaxConnections(config.circuitBreaker.maxConnections);
      const tlsChanged = JSON.stringify(config.tls) !== JSON.stringify(this.config.tls);
      this.config = config;
      if (tlsChanged) {
        // Connections made under the old transport must not carry new requests.
        this.h1?.retire();
        this.h2?.retire();
        this.h1 = undefined;
        this.h2 = undefined;
      }
    }
    if (endpoints !== this.endpoints) this.setEndpoints(endpoints);
  }

  /** Takes a slot of the retry budget (max_retries outstanding), or says there is none left. */
  beginRetry(): boolean {
    if (this.retries >= this.config.circuitBreaker.maxRetries) return false;
    this.retries++;
    return true;
  }

  endRetry(): void {
    this.retries--;
  }

  async send(req: UpstreamRequest, body: BodyTake, opts: SendOptions): Promise<AttemptOutcome> {
    const cb = this.config.circuitBreaker;
    if (this.active >= cb.maxRequests) return failure("overflow", undefined, "max requests");
    const chosen = this.choose(opts.exclude);
    if (chosen === undefined) return failure("no-healthy-upstream", undefined, this.name);
    const { key, endpoint } = chosen;
    const waits = opts.http2 ? !this.h2pool().isConnected(key) : !this.h1pool().hasIdle(key);
    if (waits && this.pending >= cb.maxPendingRequests) {
      return failure("overflow", key, "max pending requests");
    }
    this.active++;
    this.perHost.set(key, this.activeOf(key) + 1);
    let pending = waits;
    if (pending) this.pending++;
    const connected = (): void => {
      if (pending) this.pending--;
      pending = false;
    };
    const attempt = {
      connectTimeoutMs: this.config.connectTimeoutMs,
      signal: opts.signal,
      onConnected: connected,
    };
    const outcome = opts.http2
      ? await this.h2pool().send(endpoint, key, req, body, attempt)
      : await this.h1pool().send(endpoint, key, req, body, attempt);
    connected();
    const done = (): void => {
      this.active--;
      this.perHost.set(key, this.activeOf(key) - 1);
    };
    const hosts = this.candidates.length;
    if (outcome.kind === "response") {
      this.outlier.report(key, outcome.response.status >= 500, hosts);
      outcome.response.body.once("close", done);
    } else {
      done();
      if (outcome.reason !== "aborted") this.outlier.report(key, true, hosts);
    }
    return outcome;
  }

  close(): void {
    this.h1?.close();
    this.h2?.close();
  }

  private choose(exclude: ReadonlySet<string> | undefined): Candidate | undefined {
    let list = this.candidates;
    // Filtered only while an ejection lasts, not on every request of a cluster with detection.
    if (this.config.outlier !== undefined && this.outlier.anyEjected()) {
      list = list.filter((c) => !this.outlier.isEjected(c.key));
    }
    if (!nonEmpty(list)) return undefined;
    if (exclude !== undefined && exclude.size > 0) {
      const fresh = list.filter((c) => !exclude.has(c.key));
      if (nonEmpty(fresh)) return this.lb.pick(fresh, this.activeOf);
    }
    return this.lb.pick(list, this.activeOf);
  }

  private setEndpoints(endpoints: EndpointSet | undefined): void {
    this.endpoints = endpoints;
    this.candidates = (endpoints?.endpoints ?? []).map((endpoint) => ({
      key: hostKey(endpoint.address, endpoint.port),
      endpoint,
    }));
    const live = new Set(this.candidates.map((c) => c.key));
    this.outlier.retain(live);
    for (const [k, n] of this.perHost) if (n === 0 && !live.has(k)) this.perHost.delete(k);
  }

  private h1pool(): H1Pool {
    this.h1 ??= new H1Pool(
      this.config.circuitBreaker.maxConnections,
      this.deps.clock,
      this.secureTarget(),
    );
    return this.h1;
  }

  private h2pool(): H2Pool {
    this.h2 ??= new H2Pool(this.deps.clock, this.secureTarget());
    return this.h2;
  }

  /** Read at each new connection, so a rotated certificate is used without a new pool. */
  private secureTarget(): SecureTarget | undefined {
    if (this.config.tls === undefined) return undefined;
    return () => {
      const tls = this.config.tls;
      if (tls === undefined) return new UpstreamTlsError("the cluster no longer uses TLS");
      return tlsTarget(tls, this.deps.tls);
    };
  }
}
