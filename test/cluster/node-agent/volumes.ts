// Materializes a pod's volumes in a directory of the node and says where each container mounts
// them. ConfigMap, Secret, downward API and token contents are refreshed as the kubelet does.
import {
  chmod,
  chown,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import type {
  V1Container,
  V1KeyToPath,
  V1Pod,
  V1Volume,
  V1VolumeProjection,
} from "@kubernetes/client-node";
import type { ClusterDns } from "./dns.js";
import { DEFAULT_CLUSTER_DNS, formatResolvConf, parseResolvConf, podResolvConf } from "./dns.js";
import type { PodRuntimeInfo } from "./env.js";
import { fieldValue } from "./env.js";
import { fsUserOf } from "./security.js";
import type { ObjectSource } from "./sources.js";
import { MissingReferenceError } from "./sources.js";

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

type Files = Map<string, { readonly data: Buffer; readonly mode: number; readonly uid?: number }>;

const DEFAULT_MODE = 0o644;
/** Tokens are renewed once this share of their life has passed (the kubelet's rule). */
const TOKEN_RENEW_AT = 0.8;

export class PodVolumes {
  private readonly tokens = new Map<
    string,
    { token: string; issuedAt: number; expiresAt: number }
  >();

  constructor(
    private readonly pod: V1Pod,
    private readonly dir: string,
    private readonly source: ObjectSource,
    private readonly info: () => PodRuntimeInfo,
    private readonly now: () => number,
    private readonly dns: ClusterDns = DEFAULT_CLUSTER_DNS,
    private readonly hostResolvConf = "/etc/resolv.conf",
  ) {}

  /** The pod's own resolv.conf; a dot-name, so no volume (a DNS label) can collide with it. */
  private get resolvConfPath(): string {
    return join(this.dir, ".resolv.conf");
  }

  /** Writes every volume and the pod's resolv.conf; on later calls, rewrites what changed. */
  async materialize(): Promise<void> {
    const host = parseResolvConf(await readFile(this.hostResolvConf, "utf8").catch(() => ""));
    await mkdir(this.dir, { recursive: true });
    const resolv = formatResolvConf(podResolvConf(this.pod, this.dns, host));
    const tmp = `${this.resolvConfPath}.tmp-${process.pid}`;
    await writeFile(tmp, resolv, { mode: 0o644 });
    await rename(tmp, this.resolvConfPath);
    for (const volume of this.pod.spec?.volumes ?? []) {
      const target = join(this.dir, volume.name);
      const files = await this.filesOf(volume);
      const fsGroup = this.pod.spec?.securityContext?.fsGroup;
      if (files === undefined) {
        await mkdir(volume.hostPath === undefined ? target : volume.hostPath.path, {
          recursive: true,
        });
        // An emptyDir is world-writable (the kubelet's 0777), and group fsGroup, setgid.
        if (volume.emptyDir !== undefined) {
          if (fsGroup !== undefined) await chown(target, -1, fsGroup);
          await chmod(target, fsGroup === undefined ? 0o777 : 0o2777);
        }
      } else {
        await syncDir(target, files, fsGroup);
      }
    }
  }

  /**
   * The bind mounts of one container: the pod's resolv.conf over /etc/resolv.conf (as the
   * kubelet's), then its volumeMounts in order.
   */
  mountsFor(container: V1Container): Mount[] {
    const volumes = new Map((this.pod.spec?.volumes ?? []).map((v) => [v.name, v]));
    const resolv: Mount = {
      source: this.resolvConfPath,
      target: "/etc/resolv.conf",
      readOnly: true,
    };
    return [
      resolv,
      ...(container.volumeMounts ?? []).map((vm) => {
        const volume = volumes.get(vm.name);
        if (volume === undefined) {
          throw new MissingReferenceError(
            "CreateContainerConfigError",
            `volumeMount "${vm.name}" names no volume of the pod`,
          );
        }
        const base = volume.hostPath?.path ?? join(this.dir, volume.name);
        const sub = vm.subPath ?? "";
        if (normalize(sub).startsWith("..")) {
          throw new MissingReferenceError("CreateContainerConfigError", `subPath "${sub}" escapes`);
        }
        return {
          source: sub === "" ? base : join(base, sub),
          target: vm.mountPath,
          readOnly: vm.readOnly === true || isAtomicVolume(volume),
        };
      }),
    ];
  }

  private async filesOf(volume: V1Volume): Promise<Files | undefined> {
    const ns = this.pod.metadata?.namespace ?? "default";
    if (volume.configMap !== undefined) {
      const v = volume.configMap;
      const cm = await this.source.configMap(ns, v.name ?? "");
      if (cm === undefined) return this.missing(v.optional, `configmap "${v.name ?? ""}"`);
      return keyFiles(plainData(cm.data, cm.binaryData), v.items, v.defaultMode);
    }
    if (volume.secret !== undefined) {
      const v = volume.secret;
      const s = await this.source.secret(ns, v.secretName ?? "");
      if (s === undefined) return this.missing(v.optional, `secret "${v.secretName ?? ""}"`);
      return keyFiles(base64Data(s.data), v.items, v.defaultMode);
    }
    if (volume.downwardAPI !== undefined) {
      return this.downwardFiles(volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode);
    }
    if (volume.projected !== undefined) {
      const files: Files = new Map();
      for (const src of volume.projected.sources ?? []) {
        for (const [k, v] of await this.projectedFiles(
          volume.name,
          src,
          volume.projected.defaultMode,
        )) {
          files.set(k, v);
        }
      }
      return files;
    }
    if (volume.emptyDir !== undefined || volume.hostPath !== undefined) return undefined;
    throw new MissingReferenceError(
      "CreateContainerConfigError",
      `volume "${volume.name}": only configMap, secret, emptyDir, hostPath, downwardAPI and projected volumes are supported here`,
    );
  }

  private async projectedFiles(
    volume: string,
    src: V1VolumeProjection,
    defaultMode: number | undefined,
  ): Promise<Files> {
    const ns = this.pod.metadata?.namespace ?? "default";
    if (src.serviceAccountToken !== undefined) {
      const t = src.serviceAccountToken;
      const token = await this.currentToken(
        `${volume}/${t.path}`,
        t.audience,
        t.expirationSeconds ?? 3600,
      );
      // The kubelet: 0600 owned by the pods' common runAsUser when there is one or an fsGroup.
      const fsUser = fsUserOf(this.pod);
      const owned = fsUser !== undefined || this.pod.spec?.securityContext?.fsGroup !== undefined;
      const mode = owned ? 0o600 : (defaultMode ?? DEFAULT_MODE);
      return new Map([
        [
          t.path,
          { data: Buffer.from(token), mode, ...(fsUser === undefined ? {} : { uid: fsUser }) },
        ],
      ]);
    }
    if (src.configMap !== undefined) {
      const v = src.configMap;
      const cm = await this.source.configMap(ns, v.name ?? "");
      if (cm === undefined)
        return (await this.missing(v.optional, `configmap "${v.name ?? ""}"`)) ?? new Map();
      return keyFiles(plainData(cm.data, cm.binaryData), v.items, defaultMode);
    }
    if (src.secret !== undefined) {
      const v = src.secret;
      const s = await this.source.secret(ns, v.name ?? "");
      if (s === undefined)
        return (await this.missing(v.optional, `secret "${v.name ?? ""}"`)) ?? new Map();
      return keyFiles(base64Data(s.data), v.items, defaultMode);
    }
    if (src.downwardAPI !== undefined)
      return this.downwardFiles(src.downwardAPI.items ?? [], defaultMode);
    throw new MissingReferenceError(
      "CreateContainerConfigError",
      `volume "${volume}": unsupported projected source`,
    );
  }

  private downwardFiles(
    items: readonly { path: string; fieldRef?: { fieldPath: string }; mode?: number }[],
    defaultMode: number | undefined,
  ): Files {
    const files: Files = new Map();
    for (const item of items) {
      const path = item.fieldRef?.fieldPath ?? "";
      const value = fieldValue(this.pod, this.info(), path);
      if (value === undefined) {
        throw new MissingReferenceError(
          "CreateContainerConfigError",
          `unsupported fieldPath "${path}"`,
        );
      }
      files.set(item.path, {
        data: Buffer.from(value),
        mode: item.mode ?? defaultMode ?? DEFAULT_MODE,
      });
    }
    return files;
  }

  private async currentToken(
    key: string,
    audience: string | undefined,
    ttl: number,
  ): Promise<string> {
    const now = this.now();
    const held = this.tokens.get(key);
    if (
      held !== undefined &&
      now < held.issuedAt + (held.expiresAt - held.issuedAt) * TOKEN_RENEW_AT
    ) {
      return held.token;
    }
    const issued = await this.source.token(this.pod, audience, ttl);
    this.tokens.set(key, { token: issued.token, issuedAt: now, expiresAt: issued.expiresAt });
    return issued.token;
  }

  private missing(optional: boolean | undefined, what: string): Promise<Files | undefined> {
    if (optional === true) return Promise.resolve(new Map());
    return Promise.reject(
      new MissingReferenceError("CreateContainerConfigError", `${what} not found`),
    );
  }
}

function isAtomicVolume(v: V1Volume): boolean {
  return (
    v.configMap !== undefined ||
    v.secret !== undefined ||
    v.projected !== undefined ||
    v.downwardAPI !== undefined
  );
}

function plainData(
  data: Record<string, string> | undefined,
  binary: Record<string, string> | undefined,
): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(data ?? {})) out.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(binary ?? {})) out.set(k, Buffer.from(v, "base64"));
  return out;
}

function base64Data(data: Record<string, string> | undefined): Map<string, Buffer> {
  return new Map(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
}

function keyFiles(
  data: Map<string, Buffer>,
  items: readonly V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
): Files {
  const files: Files = new Map();
  const mode = defaultMode ?? DEFAULT_MODE;
  if (items === undefined || items.length === 0) {
    for (const [k, v] of data) files.set(k, { data: v, mode });
    return files;
  }
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      throw new MissingReferenceError("CreateContainerConfigError", `key "${item.key}" not found`);
    }
    files.set(item.path, { data: v, mode: item.mode ?? mode });
  }
  return files;
}

/**
 * Makes `dir` hold exactly `files`, replacing each changed file atomically. With an fsGroup the
 * files belong to that group and are group-readable (the kubelet's SetVolumeOwnership).
 */
async function syncDir(dir: string, files: Files, fsGroup: number | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755); // whatever the agent's umask, any container user can list it
  for (const [rel, f] of files) {
    if (normalize(rel).startsWith("..")) continue;
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, f.data);
    if (f.uid !== undefined || fsGroup !== undefined) await chown(tmp, f.uid ?? -1, fsGroup ?? -1);
    await chmod(tmp, fsGroup === undefined ? f.mode : f.mode | 0o440);
    await rename(tmp, path);
  }
  const wanted = new Set([...files.keys()].map((k) => normalize(k).split("/")[0]));
  for (const entry of await readdir(dir)) {
    if (!wanted.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/** Whether `path` exists and is a regular file (a subPath may point at one). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
