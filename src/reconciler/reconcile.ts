// One reconcile of one Rollout: observe, plan (answering the planner's queries and planning again),
// apply the actions through the ports, and write the status once if it changed.
import { isDeepStrictEqual } from "node:util";
import { parseRollout } from "../api/parse.js";
import { parseStatus } from "../api/parse-status.js";
import type { RolloutWire } from "../api/rollout-wire.js";
import type { Action, GateState, NotifyEvent, Observed, Plan } from "../domain/plan-model.js";
import { isInvalidSpec, isQuery } from "../domain/plan-model.js";
import { plan } from "../domain/plan.js";
import type { RolloutSpec, RolloutStatus } from "../domain/rollout.js";
import { getCondition } from "../domain/conditions.js";
import { assertNever } from "../common/assert-never.js";
import type { RoutingModel } from "../xds/model.js";
import { routingModel } from "./routing-model.js";
import type { OutboxEntry } from "../domain/rollout.js";
import { deliverOutbox, entryFor, stageNotifications } from "./notifications.js";
import type { Observation } from "./observe.js";
import { observe } from "./observe.js";
import type { ReconcilerDeps } from "./ports.js";

export interface ReconcileResult {
  readonly plan: Plan;
  /** Reconcile again after this long even if nothing changes (polling a wait or a step). */
  readonly requeueAfterMs: number | undefined;
}

export { routingModel } from "./routing-model.js";

const MAX_QUERY_ROUNDS = 3;
const DEFAULT_RESYNC_MS = 30_000;
const ANSWER_WAIT_MS = 5_000;

/**
 * The routing a Rollout's status records (status.route): what a controller taking over serves
 * before it has reconciled the Rollout, so proxies never fall back to the primary in between.
 */
export function recordedRouting(r: RolloutWire): RoutingModel | undefined {
  const parsed = parseRollout(r);
  const route = parseStatus(r)?.route;
  if (!parsed.ok || route === undefined) return undefined;
  return routingModel(r.metadata.namespace ?? "default", r.metadata.name ?? "", parsed.spec, route);
}

export async function reconcile(r: RolloutWire, deps: ReconcilerDeps): Promise<ReconcileResult> {
  const now = deps.clock.now();
  const first = await observe(r, deps, now);
  let observed = first.observed;
  const uid = r.metadata.uid ?? "";
  deps.sentLog.observed(
    { uid, namespace: r.metadata.namespace ?? "default", name: r.metadata.name ?? "" },
    observed.status?.notified,
  );
  // What the status already holds was recorded with its transition: it can go now.
  await deliverOutbox(r, specOf(observed), observed.status, deps);
  let p = plan(observed, now);
  let pending = false;
  for (let round = 0; round < MAX_QUERY_ROUNDS; round++) {
    const queries = p.actions.filter(isQuery);
    if (queries.length === 0) break;
    const answered = answer(observed, queries, r, deps, now);
    pending = answered.pending;
    if (answered.observed === observed) break; // nothing new: the rest is still being asked
    observed = answered.observed;
    p = plan(observed, now);
  }
  const spec = specOf(observed);
  let requeueAfterMs: number | undefined;
  const outgoing: OutboxEntry[] = [];
  for (const action of p.actions) {
    if (isQuery(action)) continue;
    if (action.kind === "requeueAfter") {
      requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, action.ms);
      continue;
    }
    // An invalid spec without a fallback still gets its Events and, when deleted, loses its
    // finalizer: neither needs it.
    if (spec === undefined) {
      if (action.kind === "recordEvent") {
        await deps.events.record(r, action.type, action.reason, action.message);
      } else if (action.kind === "removeFinalizer") {
        await deps.store.setFinalizer(r, false);
      }
      continue;
    }
    if (action.kind === "notify") {
      const { checks } = checksBehind(action.event, p.status);
      outgoing.push(entryFor(action, r, spec, observed.status, p.status, checks, deps));
      continue;
    }
    await applyAction(action, r, spec, { ...first, observed }, p, deps);
  }
  // Without its finalizer a deleted Rollout is gone: no status to write, nothing to requeue.
  if (p.actions.some((a) => a.kind === "removeFinalizer"))
    return { plan: p, requeueAfterMs: undefined };
  if (spec !== undefined && !observed.deleting)
    await deps.store.setFinalizer(r, spec.revertOnDeletion);
  // The transition's messages are written with it, and sent only once it is written.
  const status = await stageNotifications(r, p.status, outgoing, deps);
  if (!isDeepStrictEqual(status, observed.status)) {
    await deps.store.writeStatus(r.metadata.namespace ?? "default", r.metadata.name ?? "", status);
  }
  await deliverOutbox(r, spec, status, deps);
  // An answer still to come requeues the Rollout when it arrives; until then, look in now and
  // then (deadlines) rather than at once (an analysis due now would otherwise spin).
  const after = requeueAfterMs ?? DEFAULT_RESYNC_MS;
  return { plan: p, requeueAfterMs: pending ? Math.max(after, ANSWER_WAIT_MS) : after };
}

/**
 * The planner's queries answered from `deps.inquiries`: an answer that arrived since the last
 * reconcile is used; one not asked yet is started there, and the plan goes on without it.
 */
function answer(
  observed: Observed,
  queries: readonly Action[],
  r: RolloutWire,
  deps: ReconcilerDeps,
  now: number,
): { observed: Observed; pending: boolean } {
  if (isInvalidSpec(observed.spec)) return { observed, pending: false };
  const spec = observed.spec;
  const namespace = r.metadata.namespace ?? "default";
  const name = r.metadata.name ?? "";
  const rollout = `${namespace}/${name}`;
  const checksum = observed.target.exists ? observed.target.revision : "";
  let next = observed;
  let pending = false;
  for (const q of queries) {
    if (q.kind === "runAnalysis") {
      const weight = observed.traffic.verified?.canaryWeight ?? 0;
      // The judge's state and the split are those of the step it started at; a later step asks anew.
      const got = deps.inquiries.take(
        rollout,
        `analysis ${q.revision} step ${String(q.step)} weight ${String(weight)}`,
        () =>
          deps.analysis.run({
            namespace,
            name,
            targetName: spec.targetRef.name,
            spec,
            now,
            phase: observed.status?.phase ?? "Progressing",
            revision: q.revision,
            judge: { state: observed.status?.judge, weight, step: q.step },
          }),
      );
      if (got.kind === "answered") next = { ...next, analysis: got.value };
      else pending = true;
    } else if (q.kind === "runWebhooks") {
      const got = deps.inquiries.take(rollout, `gate ${q.type} ${checksum}`, () =>
        deps.webhooks.call(spec.analysis.webhooks, q.type, {
          name,
          namespace,
          phase: observed.status?.phase ?? "Initializing",
          checksum,
        }),
      );
      if (got.kind === "pending") {
        pending = true;
        continue;
      }
      const out = got.value;
      // No answer (timeout, 5xx after retries) is a failed check; a refusal keeps the gate closed.
      const state: GateState = out.ok ? "open" : out.errored ? "failed" : "closed";
      next = { ...next, gates: { ...next.gates, [q.type]: state } };
    }
  }
  return { observed: next, pending };
}

async function applyAction(
  a: Action,
  r: RolloutWire,
  spec: RolloutSpec,
  { observed, desiredReplicas }: Observation,
  p: Plan,
  deps: ReconcilerDeps,
): Promise<void> {
  const namespace = r.metadata.namespace ?? "default";
  const name = r.metadata.name ?? "";
  const ref = { namespace, name, targetName: spec.targetRef.name, service: spec.service };
  switch (a.kind) {
    case "ensurePrimary":
    case "promote": {
      const want = a.kind === "promote" ? a.revision : a.fromRevision;
      // The template may have changed since observation; never copy a revision the plan did not see.
      const now = await deps.workload.observe(ref);
      if (now.target.revision !== want) {
        deps.log.warn("target changed while reconciling; not copying it", {
          namespace,
          name,
          want,
          found: now.target.revision,
        });
        return;
      }
      await deps.workload.ensurePrimary(ref);
      return;
    }
    case "ensureServices":
      await deps.workload.ensureServices(ref);
      return;
    case "scaleTargetToZero":
    case "scaleCanaryDown":
      await deps.workload.scaleTarget(ref, 0);
      return;
    case "scaleCanaryUp":
    case "revertTarget":
      await deps.workload.scaleTarget(ref, desiredReplicas);
      return;
    case "restoreApex":
      await deps.workload.restoreApex(ref);
      return;
    case "removePrimary":
      await deps.workload.removePrimary(ref);
      return;
    case "removeCanaryService":
      await deps.workload.removeCanaryService(ref);
      return;
    case "clearTraffic":
      deps.traffic.clearRouting(namespace, spec.service.name);
      return;
    case "setTraffic":
      deps.traffic.setRouting(routingModel(namespace, name, spec, a.route));
      return;
    case "runWebhooks":
      // Fire and forget (post-rollout, event): their outcome changes nothing.
      void deps.webhooks
        .call(spec.analysis.webhooks, a.type, {
          name,
          namespace,
          phase: observed.status?.phase ?? "",
          checksum: observed.target.exists ? observed.target.revision : "",
        })
        .then(
          (out) => {
            if (!out.ok)
              deps.log.warn("webhook failed", {
                namespace,
                name,
                type: a.type,
                details: out.details,
              });
          },
          (err: unknown) => {
            deps.log.warn("webhook failed", { namespace, name, type: a.type, error: err });
          },
        );
      return;
    case "runAnalysis":
    case "requeueAfter":
      return;
    case "notify":
      return; // reconcile() puts it in the outbox, written with the status
    case "recordEvent":
      await deps.events.record(r, a.type, a.reason, a.message);
      return;
    case "removeFinalizer":
      await deps.store.setFinalizer(r, false);
      return;
    default:
      assertNever(a, "action");
  }
}

/** A rollback on failed checks carries the checks of the analysis that decided it. */
function checksBehind(event: NotifyEvent, s: RolloutStatus): { checks?: RolloutStatus["checks"] } {
  if (event !== "rolledBack" || s.checks === undefined) return {};
  const ready = getCondition(s.conditions, "Ready");
  return ready?.reason === "FailedChecks" ? { checks: s.checks } : {};
}

/** The spec to act through: the Rollout's, or a refused spec's fallback (a rollback needs it). */
function specOf(o: Observed): RolloutSpec | undefined {
  return isInvalidSpec(o.spec) ? o.spec.fallback : o.spec;
}
