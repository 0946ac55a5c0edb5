// Reads and writes Rollouts: the status is replaced whole through the status subresource, and
// vireo's finalizer is added or removed with a precondition on the object's UID.
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { ROLLOUT_GROUP, ROLLOUT_PLURAL, ROLLOUT_VERSION } from "../api/rollout-wire.js";
import type { RolloutWire } from "../api/rollout-wire.js";
import type { RolloutStatus } from "../domain/rollout.js";
import { statusToWire } from "../api/parse-status.js";
import { readOrUndefined } from "./apply.js";

export const FINALIZER = "vireo.dev/revert-on-deletion";

const base = { group: ROLLOUT_GROUP, version: ROLLOUT_VERSION, plural: ROLLOUT_PLURAL };

export class RolloutStore {
  constructor(private readonly api: CustomObjectsApi) {}

  async get(namespace: string, name: string): Promise<RolloutWire | undefined> {
    return readOrUndefined(
      async () =>
        (await this.api.getNamespacedCustomObject({ ...base, namespace, name })) as RolloutWire,
    );
  }

  async list(): Promise<RolloutWire[]> {
    const list = (await this.api.listClusterCustomObject(base)) as { items: RolloutWire[] };
    return list.items;
  }

  /** Replaces `.status` whole (a JSON patch `add` creates or replaces it). */
  async writeStatus(namespace: string, name: string, status: RolloutStatus): Promise<void> {
    await this.api.patchNamespacedCustomObjectStatus(
      {
        ...base,
        namespace,
        name,
        body: [{ op: "add", path: "/status", value: statusToWire(status) }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
  }

  async setFinalizer(r: RolloutWire, present: boolean): Promise<void> {
    const current = r.metadata.finalizers ?? [];
    const has = current.includes(FINALIZER);
    if (has === present) return;
    const finalizers = present ? [...current, FINALIZER] : current.filter((f) => f !== FINALIZER);
    await this.api.patchNamespacedCustomObject(
      {
        ...base,
        namespace: r.metadata.namespace ?? "default",
        name: r.metadata.name ?? "",
        body: [
          { op: "test", path: "/metadata/uid", value: r.metadata.uid },
          { op: "add", path: "/metadata/finalizers", value: finalizers },
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
  }
}
