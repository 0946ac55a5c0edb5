// A revision identifies what a release ships: the pod template plus the data of every ConfigMap
// and Secret it references, so a configuration change is released like an image change.
import { createHash } from "node:crypto";
import type { V1PodSpec, V1PodTemplateSpec } from "@kubernetes/client-node";
import { canonicalJson } from "../common/canonical-json.js";
import { ROOT_CERT_CONFIGMAP } from "../pki/root-cert-publisher.js";

export interface ConfigRefs {
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
}

/** ConfigMaps and Secrets a pod spec reads, through env, envFrom and (projected) volumes. */
export function configRefs(spec: V1PodSpec | undefined): ConfigRefs {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef?.name;
      const s = e.valueFrom?.secretKeyRef?.name;
      if (cm !== undefined) configMaps.add(cm);
      if (s !== undefined) secrets.add(s);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name !== undefined) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name !== undefined) secrets.add(f.secretRef.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name !== undefined) configMaps.add(v.configMap.name);
    if (v.secret?.secretName !== undefined) secrets.add(v.secret.secretName);
    for (const p of v.projected?.sources ?? []) {
      if (p.configMap?.name !== undefined) configMaps.add(p.configMap.name);
      if (p.secret?.name !== undefined) secrets.add(p.secret.name);
    }
  }
  // The root CA ConfigMaps every namespace gets (Kubernetes' and the mesh's) are not the
  // application's configuration: copying them would pin the primary to a stale trust bundle, and
  // the mesh's may not exist yet in a new namespace when the first release starts.
  configMaps.delete("kube-root-ca.crt");
  configMaps.delete(ROOT_CERT_CONFIGMAP);
  return { configMaps, secrets };
}

export interface ConfigData {
  readonly kind: "ConfigMap" | "Secret";
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
}

/** Ten hex digits of SHA-256 over the template and the referenced data. */
export function revisionOf(
  template: V1PodTemplateSpec | undefined,
  configs: readonly ConfigData[],
): string {
  const sorted = [...configs].sort((a, b) =>
    `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`),
  );
  return createHash("sha256")
    .update(canonicalJson({ template: template ?? {}, configs: sorted }))
    .digest("hex")
    .slice(0, 10);
}
