// Installs vireo's CRDs from crds/ into the local cluster for the tests that need them. Applied
// server-side, so it is idempotent and concurrent runs agree; it returns once the resource is served.
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { readCrdFile } from "../support/crd-file.js";
import { cluster, eventually } from "./harness.js";

interface CrdManifest {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string }[] };
}

const FIELD_MANAGER = "vireo-integration-tests";

/**
 * Applies crds/<file> and waits until it is Established and its resource answers a list. After a
 * change to an installed CRD the API server swaps its handler a moment later, so the first request
 * may still meet the previous schema; tests that change a CRD and rely on it at once should poll.
 */
export async function ensureCrd(file: string): Promise<void> {
  const crd = readCrdFile(file) as CrdManifest;
  const { name } = crd.metadata;
  const api = cluster().kc.makeApiClient(ApiextensionsV1Api);
  await api.patchCustomResourceDefinition(
    { name, body: crd, fieldManager: FIELD_MANAGER, force: true },
    setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
  );
  await eventually(`CRD ${name} to be Established`, async () => {
    const got = await api.readCustomResourceDefinition({ name });
    const established = got.status?.conditions?.some(
      (c) => c.type === "Established" && c.status === "True",
    );
    return established === true ? true : undefined;
  });
  const { group } = crd.spec;
  const { plural } = crd.spec.names;
  const custom = cluster().kc.makeApiClient(CustomObjectsApi);
  for (const { name: version } of crd.spec.versions) {
    await eventually(`${group}/${version} ${plural} to be served`, async () => {
      await custom.listClusterCustomObject({ group, version, plural, limit: 1 });
      return true;
    });
  }
}

/** The message of the API server's Status in a refused request (or the error's own message). */
export { apiMessage } from "../../src/kube/api-errors.js";

/** A minimal Rollout (its CRD ensured): a real object for tests of API clients to read and write. */
export async function minimalRollout(namespace: string, name: string): Promise<void> {
  await ensureCrd("rollouts.vireo.dev.yaml");
  await cluster()
    .kc.makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: "vireo.dev",
      version: "v1alpha1",
      plural: "rollouts",
      namespace,
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name },
        spec: {
          targetRef: { kind: "Deployment", name },
          service: { port: 80 },
          strategy: { canary: { steps: [{ setWeight: 10 }] } },
        },
      },
    });
}
