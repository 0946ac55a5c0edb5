// Turns cluster-state changes into snapshots: a burst of events becomes one push (debounced, with
// a ceiling so a steady trickle still goes out), and a failed translation keeps the last good one.
import type { Clock, TimerHandle } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { ClusterState } from "../model.js";
import type { Codecs } from "../protos.js";
import type { ResourceSet, Snapshot } from "../snapshot.js";
import { buildSnapshot } from "../snapshot.js";

export interface SnapshotBuilderDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly codecs: Codecs;
  readonly translate: (state: ClusterState) => ResourceSet;
  readonly state: () => ClusterState;
  readonly publish: (snapshot: Snapshot) => void;
  /** Quiet time after the last change before building (default 50 ms). */
  readonly debounceMs?: number;
  /** Longest a change waits while changes keep coming (default 250 ms). */
  readonly maxDelayMs?: number;
}

export class SnapshotBuilder {
  private timer: TimerHandle | undefined;
  private firstChangeAt: number | undefined;
  private version = 0;
  private builds = 0;
  private failures = 0;

  constructor(private readonly deps: SnapshotBuilderDeps) {}

  /** Something changed: build soon. */
  changed(): void {
    const now = this.deps.clock.now();
    this.firstChangeAt ??= now;
    const debounce = this.deps.debounceMs ?? 50;
    const ceiling = this.firstChangeAt + (this.deps.maxDelayMs ?? 250);
    const at = Math.min(now + debounce, ceiling);
    this.timer?.cancel();
    this.timer = this.deps.clock.setTimer(Math.max(0, at - now), () => {
      this.build();
    });
  }

  /** Builds and publishes now; returns the snapshot, or undefined if translation failed. */
  build(): Snapshot | undefined {
    this.timer?.cancel();
    this.timer = undefined;
    this.firstChangeAt = undefined;
    const started = this.deps.clock.now();
    // Versions are timestamps made strictly increasing, so they stay ordered across restarts.
    const version = Math.max(this.version + 1, started);
    try {
      const snapshot = buildSnapshot(
        version,
        this.deps.translate(this.deps.state()),
        this.deps.codecs,
      );
      this.version = version;
      this.builds++;
      this.deps.publish(snapshot);
      this.deps.log.debug("snapshot published", { version, ms: this.deps.clock.now() - started });
      return snapshot;
    } catch (err) {
      this.failures++;
      this.deps.log.error("translation failed; clients keep the previous configuration", {
        error: err instanceof Error ? err : String(err),
      });
      return undefined;
    }
  }

  get stats(): { readonly version: number; readonly builds: number; readonly failures: number } {
    return { version: this.version, builds: this.builds, failures: this.failures };
  }

  stop(): void {
    this.timer?.cancel();
  }
}
