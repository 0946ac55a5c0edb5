// The proxy's upstream clusters by name. Each is created on first use and follows its
// configuration as snapshots change; clusters a new snapshot drops close once idle.
import type { ClusterConfig, EndpointSet, RoutingSnapshot } from "../routing/model.js";
import type { ClusterDeps } from "./cluster.js";
import { UpstreamCluster } from "./cluster.js";

export class ClusterManager {
  private readonly clusters = new Map<string, UpstreamCluster>();
  private readonly pinned = new Set<string>();
  private seen: RoutingSnapshot | undefined;

  constructor(
    private readonly snapshot: () => RoutingSnapshot,
    private readonly deps: ClusterDeps,
  ) {}

  /** Keeps `name` whatever the snapshots say (the inbound listener's local cluster). */
  pin(name: string): void {
    this.pinned.add(name);
  }

  get(config: ClusterConfig, endpoints: EndpointSet | undefined): UpstreamCluster {
    const current = this.snapshot();
    if (current !== this.seen) {
      this.seen = current;
      this.sweep(current);
    }
    let c = this.clusters.get(config.name);
    if (c === undefined) {
      c = new UpstreamCluster(config, endpoints, this.deps);
      this.clusters.set(config.name, c);
    } else {
      c.update(config, endpoints);
    }
    return c;
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
  }

  private sweep(s: RoutingSnapshot): void {
    for (const [name, c] of this.clusters) {
      if (this.pinned.has(name) || s.clusters.has(name) || !c.idle) continue;
      c.close();
      this.clusters.delete(name);
    }
  }
}
