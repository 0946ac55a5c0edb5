// A pod's /etc/resolv.conf, as the kubelet writes it for the pod's dnsPolicy and dnsConfig.
// Pure: the agent writes the result into the pod's directory and bind-mounts it over
// /etc/resolv.conf inside each container's mount namespace; the host's file is never changed.
import type { V1Pod } from "@kubernetes/client-node";

export interface ClusterDns {
  /** The cluster DNS Service's ClusterIP (the kubelet's --cluster-dns). */
  readonly nameserver: string;
  /** The kubelet's --cluster-domain. */
  readonly domain: string;
}

export const DEFAULT_CLUSTER_DNS: ClusterDns = {
  nameserver: "10.96.0.10",
  domain: "cluster.local",
};

export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  /** `name` or `name:value`, in order. */
  readonly options: readonly string[];
}

/** The lines that matter of a resolv.conf file (`domain` counts as a one-entry search list). */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split("\n")) {
    const fields = raw
      .replace(/[#;].*$/, "")
      .trim()
      .split(/\s+/);
    const [key, ...rest] = fields;
    if (key === "nameserver" && rest[0] !== undefined) nameservers.push(rest[0]);
    else if (key === "search" || key === "domain") searches = rest.filter((s) => s !== "");
    else if (key === "options") options.push(...rest.filter((s) => s !== ""));
  }
  return { nameservers, searches, options };
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** Options by name: a later `ndots:2` replaces an earlier `ndots:5` (the kubelet's merge). */
function mergeOptions(base: readonly string[], extra: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...extra]) byName.set(o.split(":")[0] ?? o, o);
  return [...byName.values()];
}

/** The effective policy: ClusterFirst falls back to Default on the host network (kubelet rule). */
export function effectiveDnsPolicy(pod: V1Pod): string {
  const policy = pod.spec?.dnsPolicy ?? "ClusterFirst";
  if (policy === "ClusterFirst" && pod.spec?.hostNetwork === true) return "Default";
  if (policy === "ClusterFirstWithHostNet") return "ClusterFirst";
  return policy;
}

export function podResolvConf(pod: V1Pod, cluster: ClusterDns, host: ResolvConf): ResolvConf {
  const ns = pod.metadata?.namespace ?? "default";
  const policy = effectiveDnsPolicy(pod);
  let base: ResolvConf;
  if (policy === "None") {
    base = { nameservers: [], searches: [], options: [] };
  } else if (policy === "Default") {
    base = host;
  } else {
    const d = cluster.domain;
    base = {
      nameservers: [cluster.nameserver],
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches],
      options: ["ndots:5"],
    };
  }
  const extra = pod.spec?.dnsConfig;
  const options = (extra?.options ?? []).map((o) =>
    o.value === undefined ? (o.name ?? "") : `${o.name ?? ""}:${o.value}`,
  );
  return {
    nameservers: unique([...base.nameservers, ...(extra?.nameservers ?? [])]).slice(0, 3),
    searches: unique([...base.searches, ...(extra?.searches ?? [])]).slice(0, 32),
    options: mergeOptions(
      base.options,
      options.filter((o) => o !== ""),
    ),
  };
}

export function formatResolvConf(conf: ResolvConf): string {
  const lines = conf.nameservers.map((n) => `nameserver ${n}`);
  if (conf.searches.length > 0) lines.push(`search ${conf.searches.join(" ")}`);
  if (conf.options.length > 0) lines.push(`options ${conf.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}
