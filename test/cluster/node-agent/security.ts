// Pure: a container's effective securityContext (user, groups, capabilities) as containerd/runc
// would apply it, and the `setpriv` argv that applies it to a local process.
import type { V1Container, V1Pod } from "@kubernetes/client-node";

/** Docker's (and containerd's CRI) default capability set, without the CAP_ prefix. */
export const DEFAULT_CAPS: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
];

/** Every capability of Linux 6.x, by name: what `add: [ALL]` and `privileged` give. */
export const ALL_CAPS: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

export interface SecurityPlan {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: the pod's supplementalGroups and fsGroup. */
  readonly groups: readonly number[];
  /** The bounding set, sorted; "all" leaves it untouched (privileged). */
  readonly caps: readonly string[] | "all";
  readonly noNewPrivs: boolean;
}

export type SecurityDecision =
  | { readonly ok: true; readonly plan: SecurityPlan }
  | { readonly ok: false; readonly reason: string; readonly message: string };

function capName(raw: string): string {
  const upper = raw.toUpperCase();
  return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

/**
 * The bounding set containerd gives a container: the default set (all of them if privileged),
 * `drop: [ALL]` empties it first, `add: [ALL]` fills it, then the named adds, then the named drops.
 */
export function planCaps(
  container: V1Container,
): { ok: true; caps: readonly string[] | "all" } | { ok: false; message: string } {
  const sc = container.securityContext;
  if (sc?.privileged === true) return { ok: true, caps: "all" };
  const add = (sc?.capabilities?.add ?? []).map(capName);
  const drop = (sc?.capabilities?.drop ?? []).map(capName);
  const unknown = [...add, ...drop].filter((c) => c !== "ALL" && !ALL_CAPS.includes(c));
  if (unknown.length > 0)
    return { ok: false, message: `unknown capability "${unknown.join('", "')}"` };
  let caps = new Set(DEFAULT_CAPS);
  if (drop.includes("ALL")) caps = new Set();
  if (add.includes("ALL")) caps = new Set(ALL_CAPS);
  for (const c of add) if (c !== "ALL") caps.add(c);
  for (const c of drop) caps.delete(c);
  return { ok: true, caps: [...caps].sort() };
}

/**
 * Container-level fields override the pod's `spec.securityContext`. An unset user is root (every
 * image in images.json runs as root) and an unset group is 0, as runc does for a numeric uid the
 * image's /etc/passwd does not list.
 */
export function planSecurity(pod: V1Pod, container: V1Container): SecurityDecision {
  const psc = pod.spec?.securityContext;
  const csc = container.securityContext;
  const explicitUser = csc?.runAsUser ?? psc?.runAsUser;
  const uid = explicitUser ?? 0;
  const gid = csc?.runAsGroup ?? psc?.runAsGroup ?? 0;
  const who = `(pod: "${pod.metadata?.name ?? ""}_${pod.metadata?.namespace ?? "default"}(${pod.metadata?.uid ?? ""})", container: ${container.name})`;
  if ((csc?.runAsNonRoot ?? psc?.runAsNonRoot) === true && uid === 0) {
    // The kubelet's two messages, for an explicit uid 0 and for an image that runs as root.
    const message =
      explicitUser === undefined
        ? `container has runAsNonRoot and image will run as root ${who}`
        : `container's runAsUser breaks non-root policy ${who}`;
    return { ok: false, reason: "CreateContainerConfigError", message };
  }
  const caps = planCaps(container);
  if (!caps.ok) {
    return { ok: false, reason: "CreateContainerError", message: `${caps.message} ${who}` };
  }
  const groups = [...(psc?.supplementalGroups ?? [])];
  if (psc?.fsGroup !== undefined) groups.push(psc.fsGroup);
  return {
    ok: true,
    plan: {
      uid,
      gid,
      groups: [...new Set(groups)].filter((g) => g !== gid),
      caps: caps.caps,
      noNewPrivs: csc?.allowPrivilegeEscalation === false,
    },
  };
}

/**
 * The argv prefix that starts a process as `plan` says. For uid 0 the bounding set becomes the
 * process's permitted and effective set at exec. For any other uid the kernel clears them on the
 * uid change and nothing is made ambient, so a non-root container holds no capability, as under
 * runc (which sets no ambient capabilities either).
 */
export function setprivArgv(plan: SecurityPlan): string[] {
  const argv = ["setpriv", "--reuid", String(plan.uid), "--regid", String(plan.gid)];
  if (plan.groups.length === 0) argv.push("--clear-groups");
  else argv.push("--groups", plan.groups.join(","));
  if (plan.caps !== "all") {
    argv.push(
      "--bounding-set",
      ["-all", ...plan.caps.map((c) => `+${c.toLowerCase()}`)].join(","),
      "--inh-caps",
      "-all",
    );
  }
  if (plan.noNewPrivs) argv.push("--no-new-privs");
  argv.push("--");
  return argv;
}

/**
 * The kubelet's FsUser (pkg/volume/util FsUserFrom): the runAsUser every container (init ones
 * included) runs as, if they all share one; a projected token file is then owned by it, mode 0600.
 */
export function fsUserOf(pod: V1Pod): number | undefined {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const users = all.map(
    (c) => c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser,
  );
  const first = users[0];
  return first !== undefined && users.every((u) => u === first) ? first : undefined;
}
