// Reads a manifest from crds/ as plain data, exactly as the API server receives it.
import { readFileSync } from "node:fs";
import { loadYaml } from "@kubernetes/client-node";

export const crdDir = new URL("../../crds/", import.meta.url);

/**
 * The YAML of crds/<file> as plain objects. The client's loadYaml turns a document whose kind it
 * knows into its model classes (renaming `default` to `_default`, `x-kubernetes-validations` to
 * `x_kubernetes_validations`, but only in part), so the document is nested one level down, where
 * it is no Kubernetes object and stays as written.
 */
export function readCrdFile(file: string): unknown {
  const text = readFileSync(new URL(file, crdDir), "utf8");
  const nested = `document:\n${text.replace(/^(?=.)/gm, "  ")}`;
  return loadYaml<{ document: unknown }>(nested).document;
}
