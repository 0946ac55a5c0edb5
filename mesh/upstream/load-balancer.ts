// Endpoint choice within a cluster, one implementation per Envoy policy: weighted round robin,
// random, and least request (power of two choices). Ring hash without a hash policy is random,
// as in Envoy, since routes carry no hash policy.
import { assertNever } from "../../src/common/assert-never.js";
import type { Endpoint, LbPolicy } from "../routing/model.js";

export interface Candidate {
  readonly key: string;
  readonly endpoint: Endpoint;
}

export type Candidates = readonly [Candidate, ...Candidate[]];

export function nonEmpty(list: readonly Candidate[]): list is Candidates {
  return list.length > 0;
}

export interface LoadBalancer {
  /** One of `candidates`; `active(key)` is the endpoint's requests in flight. */
  pick(candidates: Candidates, active: (key: string) => number): Candidate;
}

export function createLoadBalancer(policy: LbPolicy, random: () => number): LoadBalancer {
  switch (policy) {
    case "ROUND_ROBIN":
      return new RoundRobin();
    case "RANDOM":
    case "RING_HASH":
      return new RandomPick(random);
    case "LEAST_REQUEST":
      return new LeastRequest(random);
    default:
      return assertNever(policy);
  }
}

function weightOf(c: Candidate): number {
  return c.endpoint.weight > 0 ? c.endpoint.weight : 1;
}

/** Smooth weighted round robin (nginx's): plain rotation when weights are equal. */
class RoundRobin implements LoadBalancer {
  private readonly current = new Map<string, number>();

  pick(candidates: Candidates): Candidate {
    let total = 0;
    let best: Candidate | undefined;
    let bestWeight = -Infinity;
    for (const c of candidates) {
      const w = weightOf(c);
      total += w;
      const cw = (this.current.get(c.key) ?? 0) + w;
      this.current.set(c.key, cw);
      if (cw > bestWeight) {
        bestWeight = cw;
        best = c;
      }
    }
    const chosen = best ?? candidates[0];
    this.current.set(chosen.key, bestWeight - total);
    if (this.current.size > candidates.length * 2) this.prune(candidates);
    return chosen;
  }

  private prune(candidates: Candidates): void {
    const live = new Set(candidates.map((c) => c.key));
    for (const k of this.current.keys()) if (!live.has(k)) this.current.delete(k);
  }
}

class RandomPick implements LoadBalancer {
  constructor(private readonly random: () => number) {}

  pick(candidates: Candidates): Candidate {
    let total = 0;
    for (const c of candidates) total += weightOf(c);
    let r = this.random() * total;
    for (const c of candidates) {
      r -= weightOf(c);
      if (r < 0) return c;
    }
    return candidates[0];
  }
}

/** Two random distinct candidates; the one with fewer requests in flight wins (Envoy's P2C). */
class LeastRequest implements LoadBalancer {
  constructor(private readonly random: () => number) {}

  pick(candidates: Candidates, active: (key: string) => number): Candidate {
    const n = candidates.length;
    if (n === 1) return candidates[0];
    const i = Math.floor(this.random() * n);
    const j = (i + 1 + Math.floor(this.random() * (n - 1))) % n;
    const a = candidates[i] ?? candidates[0];
    const b = candidates[j] ?? candidates[0];
    return active(b.key) < active(a.key) ? b : a;
  }
}
