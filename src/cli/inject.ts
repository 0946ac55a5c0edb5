// `vireo inject -f FILE`: the webhook's injection done offline (as `istioctl kube-inject` and
// `linkerd inject --manual`), with the same pure function. Pod templates of workloads, Pods and
// Lists are injected; every other object passes through unchanged.
import type { V1ObjectMeta, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { dumpYaml, loadAllYaml } from "@kubernetes/client-node";
import { VireoError } from "../common/errors.js";
import type { InjectConfig } from "../inject/config.js";
import { INTENTIONAL_SKIPS, injectPod } from "../inject/inject.js";

interface Template {
  metadata?: V1ObjectMeta;
  spec?: V1PodSpec;
}

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    template?: Template;
    jobTemplate?: { spec?: { template?: Template } };
  } & Partial<V1PodSpec>;
  items?: unknown[];
}

const TEMPLATED = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

export interface InjectOutput {
  readonly yaml: string;
  /** One line per pod (template) not injected or injected with a warning. */
  readonly notes: readonly string[];
}

function describe(o: Obj): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? "?"} ${ns === undefined ? "" : `${ns}/`}${o.metadata?.name ?? "?"}`;
}

function injectTemplate(t: Template, owner: Obj, config: InjectConfig, notes: string[]): Template {
  if (t.spec === undefined)
    throw new VireoError("BadManifest", `${describe(owner)} has no pod spec`);
  const namespace = owner.metadata?.namespace;
  const pod: V1Pod = {
    metadata: { ...t.metadata, ...(namespace === undefined ? {} : { namespace }) },
    spec: t.spec,
  };
  const r = injectPod(pod, undefined, config);
  if (r.skipped !== undefined) {
    const why = INTENTIONAL_SKIPS.has(r.skipped.code) ? "skipped" : "NOT injected";
    notes.push(`${describe(owner)}: ${why} (${r.skipped.code}): ${r.skipped.message}`);
    return t;
  }
  for (const w of r.warnings) notes.push(`${describe(owner)}: ${w}`);
  const meta: V1ObjectMeta = { ...r.pod.metadata };
  if (t.metadata?.namespace === undefined) delete meta.namespace;
  return { ...t, metadata: meta, ...(r.pod.spec === undefined ? {} : { spec: r.pod.spec }) };
}

function injectObject(o: unknown, config: InjectConfig, notes: string[]): unknown {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new VireoError("BadManifest", "a document is not a Kubernetes object (a YAML mapping)");
  }
  const obj = o as Obj;
  if (typeof obj.kind !== "string" || typeof obj.apiVersion !== "string") {
    throw new VireoError("BadManifest", "an object has no apiVersion or kind");
  }
  if (obj.kind === "List" || obj.kind.endsWith("List")) {
    return { ...obj, items: (obj.items ?? []).map((i) => injectObject(i, config, notes)) };
  }
  if (obj.kind === "Pod") {
    const t = injectTemplate(
      {
        ...(obj.metadata === undefined ? {} : { metadata: obj.metadata }),
        ...(obj.spec === undefined ? {} : { spec: obj.spec as V1PodSpec }),
      },
      obj,
      config,
      notes,
    );
    return { ...obj, metadata: t.metadata, spec: t.spec };
  }
  if (TEMPLATED.has(obj.kind)) {
    const template = obj.spec?.template;
    if (template === undefined)
      throw new VireoError("BadManifest", `${describe(obj)} has no spec.template`);
    return {
      ...obj,
      spec: { ...obj.spec, template: injectTemplate(template, obj, config, notes) },
    };
  }
  if (obj.kind === "CronJob") {
    const jt = obj.spec?.jobTemplate;
    const template = jt?.spec?.template;
    if (jt === undefined || template === undefined) {
      throw new VireoError("BadManifest", `${describe(obj)} has no spec.jobTemplate.spec.template`);
    }
    return {
      ...obj,
      spec: {
        ...obj.spec,
        jobTemplate: {
          ...jt,
          spec: { ...jt.spec, template: injectTemplate(template, obj, config, notes) },
        },
      },
    };
  }
  return obj;
}

/** Injects every pod template of a YAML or JSON stream (multi-document YAML allowed). */
export function injectManifests(text: string, config: InjectConfig): InjectOutput {
  let docs: unknown[];
  try {
    docs = loadAllYaml(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new VireoError(
      "BadManifest",
      `not YAML or JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const notes: string[] = [];
  const out = docs.map((d) => injectObject(d, config, notes));
  return { yaml: out.map((o) => dumpYaml(o)).join("---\n"), notes };
}
