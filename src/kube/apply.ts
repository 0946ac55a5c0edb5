// Server-side apply: every object vireo owns is declared whole and applied idempotently, with
// vireo as the field manager, so a repeated reconcile changes nothing and users' fields survive.
import type { KubernetesObject, KubernetesObjectApi } from "@kubernetes/client-node";
import { ApiException, PatchStrategy } from "@kubernetes/client-node";

export const FIELD_MANAGER = "vireo";

export async function apply<T extends KubernetesObject>(
  api: KubernetesObjectApi,
  obj: T,
): Promise<T> {
  return api.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** Reads an object, or undefined if it does not exist. */
export async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}
