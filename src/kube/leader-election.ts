// Leader election with a coordination.k8s.io Lease: every replica serves xDS, only the leader
// writes. The Lease is taken when free or expired, renewed while held, and changes hands through
// optimistic concurrency (resourceVersion), so two replicas never lead at once.
import type { CoordinationV1Api, V1Lease } from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { isConflict, readOrUndefined } from "./apply.js";
import { withDeadline } from "./deadline.js";

export interface LeaderElectionOptions {
  readonly api: CoordinationV1Api;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly leaseDurationMs?: number;
  readonly renewEveryMs?: number;
  /**
   * How long one attempt may wait for the API server (default two thirds of the lease, as
   * client-go's RenewDeadline): a leader whose renewal has no answer by then steps down, before
   * another replica can see the lease expire and take it.
   */
  readonly renewDeadlineMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly o: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Runs until stop(): tries to acquire or renew every renewEveryMs. */
  async run(): Promise<void> {
    const every = this.o.renewEveryMs ?? 2000;
    const deadline =
      this.o.renewDeadlineMs ?? Math.floor(((this.o.leaseDurationMs ?? 15_000) * 2) / 3);
    while (!this.stopped) {
      let held: boolean;
      try {
        held = await withDeadline(this.tryAcquireOrRenew(), deadline, this.o.clock);
      } catch (err) {
        this.o.log.warn("leader election attempt failed", {
          error: err instanceof Error ? err : String(err),
        });
        held = false;
      }
      this.setLeading(held);
      await this.o.clock.sleep(every, this.abort.signal).catch(() => undefined);
    }
  }

  /** Gives the Lease up (so another replica takes over at once) and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.leading) {
      try {
        const lease = await this.o.api.readNamespacedLease({
          name: this.o.name,
          namespace: this.o.namespace,
        });
        if (lease.spec?.holderIdentity === this.o.identity) {
          lease.spec.holderIdentity = undefined;
          lease.spec.renewTime = undefined;
          await this.o.api.replaceNamespacedLease({
            name: this.o.name,
            namespace: this.o.namespace,
            body: lease,
          });
        }
      } catch (err) {
        this.o.log.warn("could not release the lease", {
          error: err instanceof Error ? err : String(err),
        });
      }
    }
    this.setLeading(false);
  }

  private setLeading(held: boolean): void {
    if (held === this.leading) return;
    this.leading = held;
    this.o.log.info(held ? "became leader" : "lost leadership", { identity: this.o.identity });
    if (held) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const durationMs = this.o.leaseDurationMs ?? 15_000;
    const now = this.o.clock.now();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(durationMs / 1000),
      renewTime: new V1MicroTime(now),
    };
    const lease = await readOrUndefined(() => api.readNamespacedLease({ name, namespace }));
    if (lease === undefined) {
      try {
        await api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: new V1MicroTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    if (!this.mayTake(lease, now)) return false;
    const s = lease.spec ?? {};
    const changing = s.holderIdentity !== identity;
    lease.spec = {
      ...s,
      ...spec,
      ...(changing
        ? { acquireTime: new V1MicroTime(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      await api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // another replica wrote first
      throw err;
    }
  }

  private mayTake(lease: V1Lease, now: number): boolean {
    const s = lease.spec;
    if (
      s?.holderIdentity === undefined ||
      s.holderIdentity === "" ||
      s.holderIdentity === this.o.identity
    )
      return true;
    const renewed = s.renewTime === undefined ? 0 : new Date(s.renewTime).getTime();
    return now > renewed + (s.leaseDurationSeconds ?? 15) * 1000;
  }
}
