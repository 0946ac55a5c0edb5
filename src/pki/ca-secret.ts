// Reads the CA's Secret, or creates it with a generated root when there is none. Replicas race to
// create it; the loser reads the winner's, so all sign under one root.
import type { CoreV1Api } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import type { Logger } from "../common/logger.js";
import type { CaMaterial } from "./authority.js";
import type { CaSecretData } from "./ca-material.js";
import { CA_SECRET, generateCa, materialFromSecret } from "./ca-material.js";

export interface CaSecretDeps {
  readonly core: CoreV1Api;
  readonly namespace: string;
  readonly trustDomain: string;
  readonly now: () => number;
  readonly log: Logger;
}

function decode(data: Record<string, string> | undefined): CaSecretData {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

export async function readCaSecret(deps: CaSecretDeps): Promise<CaSecretData | undefined> {
  return (await readCaSecretVersion(deps))?.data;
}

/** The Secret's data and resourceVersion (the precondition of a write that must not race). */
export async function readCaSecretVersion(
  deps: CaSecretDeps,
): Promise<{ data: CaSecretData; resourceVersion: string | undefined } | undefined> {
  try {
    const s = await deps.core.readNamespacedSecret({ name: CA_SECRET, namespace: deps.namespace });
    return { data: decode(s.data), resourceVersion: s.metadata?.resourceVersion };
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** The CA material from the Secret, generating and storing a root first if there is none. */
export async function ensureCaMaterial(deps: CaSecretDeps): Promise<CaMaterial> {
  return (await ensureCaSecret(deps)).material;
}

/** As ensureCaMaterial, with the data the material came from. */
export async function ensureCaSecret(
  deps: CaSecretDeps,
): Promise<{ material: CaMaterial; data: CaSecretData }> {
  const existing = await readCaSecret(deps);
  if (existing !== undefined)
    return {
      material: materialFromSecret(existing, deps.trustDomain, deps.now()),
      data: existing,
    };
  const generated = generateCa(deps.trustDomain, deps.now());
  try {
    await deps.core.createNamespacedSecret({
      namespace: deps.namespace,
      body: {
        metadata: { name: CA_SECRET, labels: { "app.kubernetes.io/managed-by": "vireo" } },
        type: "Opaque",
        stringData: { ...generated.data },
      },
    });
    deps.log.info("generated a root CA", { secret: `${deps.namespace}/${CA_SECRET}` });
    return generated;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const winner = await readCaSecret(deps);
    if (winner === undefined) throw err;
    return { material: materialFromSecret(winner, deps.trustDomain, deps.now()), data: winner };
  }
}

/**
 * Replaces the Secret's data (a root rotation, an issuer renewal, or a user's own CA). With
 * `resourceVersion`, the write fails with 409 if someone wrote first (another replica renewing).
 */
export async function writeCaSecret(
  deps: CaSecretDeps,
  data: CaSecretData,
  resourceVersion?: string,
): Promise<void> {
  await deps.core.replaceNamespacedSecret({
    name: CA_SECRET,
    namespace: deps.namespace,
    body: {
      metadata: {
        name: CA_SECRET,
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      type: "Opaque",
      data: Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
      ),
    },
  });
}
