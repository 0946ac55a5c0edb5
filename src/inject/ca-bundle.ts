// Keeps the caBundle of MutatingWebhookConfiguration `vireo-sidecar-injector` equal to vireo's
// trust bundle, as istiod patches its own. Every replica does it, at start and when the roots
// change: they all read the same Secret, so they write the same value, and a replica writes only
// when the stored bundle differs; two replicas can therefore never undo each other (during a
// rotation the bundle holds old and new roots, so either one's certificate verifies meanwhile).
import type { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

export const WEBHOOK_CONFIGURATION = "vireo-sidecar-injector";

/** Patches every webhook of the configuration whose caBundle differs; returns how many. */
export async function syncCaBundle(
  api: AdmissionregistrationV1Api,
  name: string,
  bundlePem: string,
): Promise<number> {
  const want = Buffer.from(bundlePem).toString("base64");
  const mwc = await api.readMutatingWebhookConfiguration({ name });
  const ops = (mwc.webhooks ?? []).flatMap((w, i) =>
    w.clientConfig.caBundle === want
      ? []
      : [
          // `test` first: the patch fails rather than writes into a reordered list.
          { op: "test", path: `/webhooks/${String(i)}/name`, value: w.name },
          { op: "add", path: `/webhooks/${String(i)}/clientConfig/caBundle`, value: want },
        ],
  );
  if (ops.length === 0) return 0;
  await api.patchMutatingWebhookConfiguration(
    { name, body: ops },
    setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
  );
  return ops.length / 2;
}
