// The sequential judge's counts read straight from the proxies' status ports (`/judge/counts`,
// mesh/telemetry/judge-counts.ts), no Prometheus in between: each read is as fresh as the
// request that asked for it, so the judge's cadence is its own, not a scrape interval's.
import { describeError } from "../common/errors.js";
import { JUDGE_BUCKETS_MS } from "../common/judge-buckets.js";
import type { CountScope, CountsOutcome, CountSource } from "./counts.js";
import type { ProxyReport, Totals } from "./proxy-ledger.js";
import { parseProxyReport, WorkloadLedger } from "./proxy-ledger.js";

/** A proxy to read: its pod and the base URL of its status port (`http://<pod IP>:15020`). */
export interface ProxyEndpoint {
  readonly pod: string;
  readonly url: string;
}

/** The proxies of a workload's running pods. */
export interface ProxyDirectory {
  proxies(scope: CountScope): Promise<readonly ProxyEndpoint[]>;
}

/** One GET of a proxy's `/judge/counts`, parsed. */
export type ProxyReader = (endpoint: ProxyEndpoint) => Promise<ProxyReport>;

/** Reads over HTTP with a deadline: a proxy that does not answer makes the read inconclusive. */
export function httpProxyReader(timeoutMs = 1500): ProxyReader {
  return async (endpoint) => {
    const res = await fetch(`${endpoint.url}/judge/counts`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${endpoint.pod}: /judge/counts answered ${String(res.status)}`);
    return parseProxyReport(await res.json(), endpoint.pod);
  };
}

export class ProxyCounts implements CountSource {
  readonly edges = JUDGE_BUCKETS_MS;
  /** By `namespace/workload`: kept for the controller's life, so totals stay monotone. */
  private readonly ledgers = new Map<string, WorkloadLedger>();

  constructor(
    private readonly directory: ProxyDirectory,
    private readonly read: ProxyReader = httpProxyReader(),
  ) {}

  async counts(scope: CountScope, le: readonly string[]): Promise<CountsOutcome> {
    const totals = await this.totals(scope);
    if ("error" in totals) return { kind: "error", message: totals.error };
    const atOrBelow: Record<string, number> = {};
    for (const edge of le) {
      // "+Inf" is the histogram's total: the requests timed, without each pod's warm-up.
      const n = totals.buckets.get(edge);
      // A workload no proxy has reported for has no buckets yet: zeros, as the port says.
      if (n === undefined && totals.buckets.size > 0) {
        return { kind: "error", message: `le=${edge} is not one of the proxies' bucket edges` };
      }
      atOrBelow[edge] = n ?? 0;
    }
    return {
      kind: "counts",
      counts: { requests: totals.requests, failures: totals.failures, atOrBelow },
    };
  }

  private async totals(scope: CountScope): Promise<Totals | { readonly error: string }> {
    try {
      const proxies = await this.directory.proxies(scope);
      const reports = await Promise.all(
        proxies.map(async (p) => [p.pod, await this.read(p)] as const),
      );
      const key = `${scope.namespace}/${scope.workload}`;
      let ledger = this.ledgers.get(key);
      if (ledger === undefined) {
        ledger = new WorkloadLedger();
        this.ledgers.set(key, ledger);
      }
      return ledger.update(new Map(reports), key);
    } catch (err) {
      return {
        error: `reading the proxies of ${scope.namespace}/${scope.workload}: ${describeError(err)}`,
      };
    }
  }
}
