// `vireo check`: verifies an install, one line per check and exit code 0/1 (as `linkerd check`).
// The checks read the API only; each returns ok/fail and a line that says what was found.
import { X509Certificate } from "node:crypto";
import type {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
} from "@kubernetes/client-node";
import { meshChecks } from "./check-mesh.js";
import type { CheckResult } from "./check-result.js";
import { apiMessage } from "../kube/api-errors.js";
import { one } from "./check-result.js";

export const CRDS = [
  "rollouts.vireo.dev",
  "metrictemplates.vireo.dev",
  "alertproviders.vireo.dev",
  "peerauthentications.vireo.dev",
  "authorizationpolicies.vireo.dev",
];
/** A root (or the webhook's bundle) expiring within this is reported as a failure. */
export const EXPIRY_MARGIN_MS = 30 * 24 * 3600 * 1000;

export interface CheckApis {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly ext: ApiextensionsV1Api;
  readonly admission: AdmissionregistrationV1Api;
  readonly discovery: DiscoveryV1Api;
}

export interface CheckOptions {
  readonly namespace: string;
  /** The chart's full name (default "vireo"). */
  readonly release: string;
  readonly now: number;
  /** Where the dry-run pod that calls the webhook is made (default "default"). */
  readonly probeNamespace?: string;
  /** Only the install (CRDs, controller, CA, webhook configuration), not the data plane. */
  readonly installOnly?: boolean;
}

/** Certificates of a PEM bundle with their expiry; throws on one that does not parse. */
export function bundleExpiry(pem: string): { subject: string; notAfter: number }[] {
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return certs.map((c) => {
    const x = new X509Certificate(c);
    return { subject: x.subject.replace(/\n/g, ", "), notAfter: Date.parse(x.validTo) };
  });
}

function fail(message: string): never {
  throw new Error(message);
}

export async function runChecks(api: CheckApis, o: CheckOptions): Promise<CheckResult[]> {
  const ns = o.namespace;
  let rootBundle: string | undefined;
  const results: CheckResult[] = [];
  results.push(
    await one("CRDs installed and established", async () => {
      for (const name of CRDS) {
        const crd = await api.ext.readCustomResourceDefinition({ name }).catch((err: unknown) => {
          throw new Error(apiMessage(err));
        });
        const est = crd.status?.conditions?.find((c) => c.type === "Established");
        if (est?.status !== "True") fail(`${name} is not Established`);
      }
      return `${String(CRDS.length)} CRDs`;
    }),
  );
  results.push(
    await one("controller Deployment ready", async () => {
      const d = await api.apps.readNamespacedDeployment({ name: o.release, namespace: ns });
      const want = d.spec?.replicas ?? 1;
      const ready = d.status?.readyReplicas ?? 0;
      if (ready < 1) fail(`Deployment ${ns}/${o.release}: 0 of ${String(want)} replicas ready`);
      return `${String(ready)}/${String(want)} replicas ready`;
    }),
  );
  results.push(
    await one("CA root healthy", async () => {
      await api.core.readNamespacedSecret({ name: "vireo-ca", namespace: ns });
      const cm = await api.core.readNamespacedConfigMap({
        name: "vireo-ca-root-cert",
        namespace: ns,
      });
      rootBundle =
        cm.data?.["root-cert.pem"] ??
        fail(`ConfigMap ${ns}/vireo-ca-root-cert has no root-cert.pem`);
      const certs = bundleExpiry(rootBundle);
      if (certs.length === 0) fail(`ConfigMap ${ns}/vireo-ca-root-cert holds no certificate`);
      const first = Math.min(...certs.map((c) => c.notAfter));
      if (first < o.now + EXPIRY_MARGIN_MS) {
        fail(`a root expires ${new Date(first).toISOString()}, within 30 days`);
      }
      return `${String(certs.length)} root(s), first expiry ${new Date(first).toISOString().slice(0, 10)}`;
    }),
  );
  results.push(
    await one("injection webhook configured", async () => {
      const name = `${o.release}-sidecar-injector`;
      const mwc = await api.admission.readMutatingWebhookConfiguration({ name });
      const hooks = mwc.webhooks ?? [];
      if (hooks.length === 0) fail(`MutatingWebhookConfiguration ${name} has no webhooks`);
      for (const w of hooks) {
        const b = w.clientConfig.caBundle;
        if (b === undefined || b === "")
          fail(`${w.name}: no caBundle (is the controller running?)`);
        const pem = Buffer.from(b, "base64").toString("utf8");
        if (rootBundle !== undefined && pem !== rootBundle) {
          fail(`${w.name}: caBundle differs from the CA's roots (ConfigMap vireo-ca-root-cert)`);
        }
      }
      return `${String(hooks.length)} webhooks, caBundle = the CA's roots, failurePolicy ${hooks[0]?.failurePolicy ?? "?"}`;
    }),
  );
  results.push(
    await one("injection webhook has ready endpoints", async () => {
      const svc = `${o.release}-injector`;
      const slices = await api.discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: `kubernetes.io/service-name=${svc}`,
      });
      const ready = slices.items
        .flatMap((s) => s.endpoints)
        .filter((e) => e.conditions?.ready === true);
      if (ready.length === 0) fail(`Service ${ns}/${svc} has no ready endpoint`);
      return `${String(ready.length)} ready endpoint(s)`;
    }),
  );
  if (o.installOnly === true) return results;
  const probeNamespace = o.probeNamespace ?? "default";
  results.push(...(await meshChecks(api, { ...o, probeNamespace }, one)));
  return results;
}

export function formatChecks(results: readonly CheckResult[]): string {
  const mark = (r: CheckResult) => (!r.ok ? "×" : r.warning === true ? "‼" : "√");
  return results.map((r) => `${mark(r)} ${r.name}: ${r.detail}`).join("\n") + "\n";
}
