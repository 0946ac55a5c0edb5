// Pure: the kubelet's ordering of a pod's containers (KEP-753). Init containers start one at a
// time in spec order; a regular one must exit 0 and a sidecar (restartPolicy Always) must be
// started (startup probe passed) before the next; app containers start after all of them. On
// termination the app containers (and a running regular init container) stop first, then the
// sidecars one by one in reverse order.

export type SlotKind = "init" | "sidecar" | "app";

export interface SlotProgress {
  readonly kind: SlotKind;
  /** The agent has tried to start it at least once (it is its turn). */
  readonly launched: boolean;
  /** A regular init container that exited 0. */
  readonly completed: boolean;
  /** A sidecar whose startup was complete at least once. */
  readonly everStarted: boolean;
}

export type InitStep =
  | { readonly kind: "launch"; readonly index: number }
  | { readonly kind: "wait"; readonly index: number }
  | { readonly kind: "done" };

/** What the init sequence needs next, given the init containers in spec order. */
export function planInit(init: readonly SlotProgress[]): InitStep {
  for (const [index, s] of init.entries()) {
    const passed = s.kind === "sidecar" ? s.everStarted : s.completed;
    if (passed) continue;
    return s.launched ? { kind: "wait", index } : { kind: "launch", index };
  }
  return { kind: "done" };
}

/** Whether a container that exited with `exitCode` is started again. */
export function restartsAfterExit(
  kind: SlotKind,
  policy: string | undefined,
  exitCode: number,
): boolean {
  switch (kind) {
    case "sidecar":
      return true; // whatever the pod's restartPolicy
    case "init":
      return exitCode !== 0 && policy !== "Never";
    case "app":
      switch (policy ?? "Always") {
        case "Never":
          return false;
        case "OnFailure":
          return exitCode !== 0;
        default:
          return true;
      }
  }
}

/**
 * The order containers are stopped in, as groups stopped together: every non-sidecar first, then
 * each sidecar alone, the last in spec order (the last started) first. Indices are into `kinds`.
 */
export function terminationWaves(kinds: readonly SlotKind[]): number[][] {
  const first = kinds.flatMap((k, i) => (k === "sidecar" ? [] : [i]));
  const sidecars = kinds.flatMap((k, i) => (k === "sidecar" ? [[i]] : [])).reverse();
  return first.length === 0 ? sidecars : [first, ...sidecars];
}
