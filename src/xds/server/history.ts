// Recent snapshots by version, so the server can tell what content a client holds from the
// version it was sent, without keeping a copy per client.
import type { EncodedResource, Snapshot, TypeUrl } from "../snapshot.js";

export class SnapshotHistory {
  private readonly byVersion = new Map<number, Snapshot>();

  constructor(private readonly keep = 32) {}

  add(s: Snapshot): void {
    this.byVersion.set(s.version, s);
    while (this.byVersion.size > this.keep) {
      const oldest = this.byVersion.keys().next().value;
      if (oldest === undefined) break;
      this.byVersion.delete(oldest);
    }
  }

  get(version: number | undefined): Snapshot | undefined {
    return version === undefined ? undefined : this.byVersion.get(version);
  }

  resource(
    version: number | undefined,
    typeUrl: TypeUrl,
    name: string,
  ): EncodedResource | undefined {
    return this.get(version)?.resources.get(typeUrl)?.get(name);
  }
}
