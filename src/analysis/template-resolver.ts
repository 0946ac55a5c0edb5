// Resolves a Rollout's templateRef on the API server: the MetricTemplate, parsed, and the
// credentials of the Secret it names. Every way this goes wrong becomes the check's message.
import type { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { describeError } from "../common/errors.js";
import { readOrUndefined } from "../kube/apply.js";
import type { TemplateRef, TemplateResolution } from "./metric-template.js";
import {
  credentialsFromSecret,
  METRIC_TEMPLATE_GROUP,
  METRIC_TEMPLATE_PLURAL,
  METRIC_TEMPLATE_VERSION,
  parseMetricTemplate,
} from "./metric-template.js";

export class KubeTemplateResolver {
  constructor(
    private readonly custom: CustomObjectsApi,
    private readonly core: CoreV1Api,
  ) {}

  /** Usable as AnalysisInput.resolveTemplate. */
  readonly resolve = async (ref: TemplateRef): Promise<TemplateResolution> => {
    const what = `MetricTemplate ${ref.namespace}/${ref.name}`;
    try {
      const obj: unknown = await readOrUndefined(() =>
        this.custom.getNamespacedCustomObject({
          group: METRIC_TEMPLATE_GROUP,
          version: METRIC_TEMPLATE_VERSION,
          plural: METRIC_TEMPLATE_PLURAL,
          namespace: ref.namespace,
          name: ref.name,
        }),
      );
      if (obj === undefined) return { ok: false, message: `${what} not found` };
      const parsed = parseMetricTemplate(obj);
      if (!parsed.ok) return { ok: false, message: `${what}: ${parsed.message}` };
      const { template } = parsed;
      const secretName = template.provider.secretRef?.name;
      if (secretName === undefined) return { ok: true, template, credentials: {} };
      const secret = await readOrUndefined(() =>
        this.core.readNamespacedSecret({ namespace: ref.namespace, name: secretName }),
      );
      if (secret === undefined) {
        return { ok: false, message: `${what}: Secret ${secretName} not found` };
      }
      const credentials = credentialsFromSecret(secretName, secret.data);
      if (!credentials.ok) return { ok: false, message: `${what}: ${credentials.message}` };
      return { ok: true, template, credentials: credentials.credentials };
    } catch (err) {
      return { ok: false, message: `${what}: cannot read it: ${describeError(err)}` };
    }
  };
}
