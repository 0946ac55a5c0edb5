// Pure readings of a Deployment's status: ready, or past its progress deadline.
import type { V1Deployment } from "@kubernetes/client-node";

export interface DeploymentState {
  readonly exists: boolean;
  readonly replicas: number;
  /** Every desired replica updated and available at the current generation. */
  readonly ready: boolean;
  readonly progressDeadlineExceeded: boolean;
  readonly message: string;
}

export function deploymentState(d: V1Deployment | undefined): DeploymentState {
  if (d === undefined) {
    return {
      exists: false,
      replicas: 0,
      ready: false,
      progressDeadlineExceeded: false,
      message: "not found",
    };
  }
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  const generation = d.metadata?.generation ?? 0;
  const observed = s?.observedGeneration ?? 0;
  const updated = s?.updatedReplicas ?? 0;
  const available = s?.availableReplicas ?? 0;
  const total = s?.replicas ?? 0;
  const deadline = (s?.conditions ?? []).some(
    (c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded",
  );
  const ready = observed >= generation && updated >= want && available >= want && total <= want;
  const message = ready
    ? `${available}/${want} replicas available`
    : observed < generation
      ? "waiting for the Deployment controller to observe the new generation"
      : `${updated}/${want} updated, ${available}/${want} available`;
  return { exists: true, replicas: want, ready, progressDeadlineExceeded: deadline, message };
}
