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
  try {
    const s = await deps.core.readNamespacedSecret({ name: CA_SECRET, namespace: deps.namespace });
    return decode(s.data);
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** The CA material from the Secret, generating and storing a root first if there is none. */
export async function ensureCaMaterial(deps: CaSecretDeps): Promise<CaMaterial> {
  const existing = await readCaSecret(deps);
  if (existing !== undefined) return materialFromSecret(existing, deps.trustDomain, deps.now());
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
    return generated.material;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const winner = await readCaSecret(deps);
    if (winner === undefined) throw err;
    return materialFromSecret(winner, deps.trustDomain, deps.now());
  }
}

/** Replaces the Secret's data (a root rotation, or a user's own CA). */
export async function writeCaSecret(deps: CaSecretDeps, data: CaSecretData): Promise<void> {
  await deps.core.replaceNamespacedSecret({
    name: CA_SECRET,
    namespace: deps.namespace,
    body: { metadata: { name: CA_SECRET }, type: "Opaque", stringData: { ...data } },
  });
}
