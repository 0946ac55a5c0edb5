// Prometheus file_sd targets for the pods annotated for scraping (Debian's Prometheus has no
// Kubernetes discovery, so the node keeps this list current).
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";

export interface ScrapeTarget {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

/** The target of a running pod, or undefined if it is not annotated for scraping. */
export function scrapeTarget(pod: V1Pod, podIP: string | undefined): ScrapeTarget | undefined {
  const a = pod.metadata?.annotations ?? {};
  if (a["prometheus.io/scrape"] !== "true" || podIP === undefined) return undefined;
  const firstPort = pod.spec?.containers.flatMap((c) => c.ports ?? [])[0]?.containerPort;
  const port = a["prometheus.io/port"] ?? (firstPort === undefined ? undefined : String(firstPort));
  if (port === undefined) return undefined;
  const labels: Record<string, string> = {
    __metrics_path__: a["prometheus.io/path"] ?? "/metrics",
    namespace: pod.metadata?.namespace ?? "default",
    pod: pod.metadata?.name ?? "",
  };
  for (const [k, v] of Object.entries(pod.metadata?.labels ?? {})) {
    const name = k.replace(/[^A-Za-z0-9_]/g, "_");
    if (!(name in labels) && /^[A-Za-z_]/.test(name)) labels[name] = v;
  }
  return { targets: [`${podIP}:${port}`], labels };
}

/** Writes the target list atomically so Prometheus never reads half a file. */
export async function writeTargets(path: string, targets: readonly ScrapeTarget[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(targets, null, 2)}\n`);
  await rename(tmp, path);
}
