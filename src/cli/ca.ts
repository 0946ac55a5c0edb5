// `vireo ca status | rotate-root | drop-old-roots`: the two-phase root rotation of
// docs/security.md on Secret vireo-ca. Plans are pure (what would be written and why); the
// command writes only without --dry-run, with the Secret's resourceVersion as precondition so a
// controller renewing the issuer at the same moment is not overwritten.
import { X509Certificate } from "node:crypto";
import type { CoreV1Api } from "@kubernetes/client-node";
import { VireoError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { uniqueRoots } from "../pki/authority.js";
import { renewalTime, validityOf } from "../pki/ca-lifecycle.js";
import type { CaSecretData } from "../pki/ca-material.js";
import { CA_SECRET, rotateRoot } from "../pki/ca-material.js";
import { readCaSecretVersion, writeCaSecret } from "../pki/ca-secret.js";

export const CA_COMMANDS = ["status", "rotate-root", "drop-old-roots"] as const;
export type CaCommand = (typeof CA_COMMANDS)[number];

export interface CaPlan {
  /** What the command does (or would do), one line each. */
  readonly lines: readonly string[];
  /** The Secret's new data; undefined when there is nothing to write. */
  readonly data: CaSecretData | undefined;
}

function describeCert(pem: string): string {
  const c = new X509Certificate(pem);
  const cn = /CN=([^\n]*)/.exec(c.subject)?.[1] ?? c.subject;
  return `${cn} (sha256 ${c.fingerprint256.slice(0, 23)}…, expires ${new Date(c.validTo).toISOString()})`;
}

/** The trust domain the current root was made for (its O=), so a new root matches it. */
export function trustDomainOf(rootPem: string): string | undefined {
  return /(?:^|\n)O=([^\n]*)/.exec(new X509Certificate(rootPem).subject)?.[1];
}

export function caStatus(data: CaSecretData, now: number): string[] {
  const roots = uniqueRoots([data["root-cert.pem"] ?? ""]);
  const trusted = uniqueRoots([data["trusted-roots.pem"] ?? ""]);
  const lines = roots.map((r) => `active root:   ${describeCert(r)}`);
  for (const r of trusted)
    lines.push(`trusted root:  ${describeCert(r)} (previous, still trusted)`);
  lines.push(`root key:      ${data["root-key.pem"] === undefined ? "absent" : "present"}`);
  const issuer = data["ca-cert.pem"];
  if (issuer === undefined) {
    lines.push(
      data["root-key.pem"] === undefined
        ? "issuer:        none (and no root key: the controller cannot start)"
        : "issuer:        made in memory by each controller from root-key.pem",
    );
  } else {
    const due = renewalTime(validityOf(issuer));
    lines.push(`issuer:        ${describeCert(issuer)}`);
    lines.push(
      data["root-key.pem"] === undefined
        ? "renewal:       not automatic (no root-key.pem): write a new ca-cert.pem/ca-key.pem before it expires"
        : `renewal:       ${due <= now ? "due now" : `at ${new Date(due).toISOString()}`} (by the controller)`,
    );
  }
  lines.push(
    trusted.length === 0
      ? "rotation:      none in progress"
      : "rotation:      in progress: run `vireo ca drop-old-roots` once every workload has renewed (24 h)",
  );
  return lines;
}

/** Phase one: a new root and issuer sign from now on; the old roots stay trusted. */
export function planRotateRoot(data: CaSecretData, now: number, trustDomain?: string): CaPlan {
  const oldRoot = data["root-cert.pem"];
  if (oldRoot === undefined)
    throw new VireoError("BadCaSecret", `Secret ${CA_SECRET} has no root-cert.pem to rotate`);
  const td = trustDomain ?? trustDomainOf(oldRoot) ?? "cluster.local";
  const next = rotateRoot(data, td, now).data;
  const trusted = uniqueRoots([next["trusted-roots.pem"] ?? ""]);
  return {
    data: next,
    lines: [
      `generate a new root for trust domain ${td}: ${describeCert(next["root-cert.pem"] ?? "")}`,
      `generate a new issuer under it: ${describeCert(next["ca-cert.pem"] ?? "")}`,
      `keep trusting ${String(trusted.length)} previous root(s) in trusted-roots.pem: ${trusted.map(describeCert).join("; ")}`,
      `write Secret ${CA_SECRET}; the controller loads it within 30 s, proxies get the new trust bundle, new certificates chain to the new root`,
      "then, once every workload has renewed its certificate (24 h by default): vireo ca drop-old-roots",
    ],
  };
}

/** Phase two: stop trusting the previous roots. */
export function planDropOldRoots(data: CaSecretData): CaPlan {
  const trusted = uniqueRoots([data["trusted-roots.pem"] ?? ""]);
  if (trusted.length === 0)
    return { data: undefined, lines: ["no previous roots in trusted-roots.pem: nothing to do"] };
  const next = Object.fromEntries(Object.entries(data).filter(([k]) => k !== "trusted-roots.pem"));
  return {
    data: next,
    lines: [
      ...trusted.map((r) => `stop trusting ${describeCert(r)}`),
      `write Secret ${CA_SECRET}; certificates still chained to those roots stop verifying`,
    ],
  };
}

export interface CaCommandDeps {
  readonly core: CoreV1Api;
  readonly namespace: string;
  readonly now: number;
  readonly dryRun: boolean;
  readonly trustDomain?: string | undefined;
  readonly log: Logger;
}

/** Runs one `vireo ca` command; returns the lines to print. */
export async function runCaCommand(command: CaCommand, deps: CaCommandDeps): Promise<string[]> {
  const secretDeps = {
    core: deps.core,
    namespace: deps.namespace,
    trustDomain: deps.trustDomain ?? "cluster.local",
    now: () => deps.now,
    log: deps.log,
  };
  const read = await readCaSecretVersion(secretDeps);
  if (read === undefined)
    throw new VireoError(
      "CaSecretMissing",
      `Secret ${deps.namespace}/${CA_SECRET} not found (is the controller installed in ${deps.namespace}? -n sets the namespace)`,
    );
  if (command === "status") return caStatus(read.data, deps.now);
  const plan =
    command === "rotate-root"
      ? planRotateRoot(read.data, deps.now, deps.trustDomain)
      : planDropOldRoots(read.data);
  if (plan.data === undefined) return [...plan.lines];
  if (deps.dryRun) return ["dry run: nothing written; would:", ...plan.lines.map((l) => `  ${l}`)];
  await writeCaSecret(secretDeps, plan.data, read.resourceVersion);
  return [...plan.lines, `Secret ${deps.namespace}/${CA_SECRET} written`];
}
