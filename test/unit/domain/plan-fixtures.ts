// Builders for planner tests: a spec, a status and an observed world with sensible defaults, each
// overridden field by field, plus small readers of a plan and a table runner.
import assert from "node:assert/strict";
import type { Action, Observed, Plan, TrafficRoute } from "../../../src/domain/plan-model.js";
import { plan } from "../../../src/domain/plan.js";
import type {
  AnalysisSpec,
  CanaryStep,
  Condition,
  RolloutSpec,
  RolloutStatus,
  Strategy,
  WebhookSpec,
  WebhookType,
} from "../../../src/domain/rollout.js";

export const T0 = Date.UTC(2026, 0, 1);
export const S = 1000;
export const MIN = 60 * S;
export const iso = (ms: number): string => new Date(ms).toISOString();
export const at = (offsetMs: number): string => iso(T0 + offsetMs);

export const INTERVAL = MIN;
export const DEADLINE = 600 * S;

export const canary = (...steps: CanaryStep[]): Strategy => ({ kind: "canary", steps });
export const w = (weight: number): CanaryStep => ({ kind: "setWeight", weight });
export const pause = (durationMs?: number): CanaryStep =>
  durationMs === undefined ? { kind: "pause" } : { kind: "pause", durationMs };

export const HEADER_MATCH = [{ headers: { "x-canary": { exact: "yes" } } }];

export function webhook(type: WebhookType, deadlineMs?: number): WebhookSpec {
  return {
    name: type,
    type,
    url: `http://hooks.demo/${type}`,
    timeoutMs: 10 * S,
    retries: 0,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  };
}

export function spec(
  overrides: Partial<Omit<RolloutSpec, "analysis">> & { analysis?: Partial<AnalysisSpec> } = {},
): RolloutSpec {
  const { analysis, ...rest } = overrides;
  return {
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
    service: { name: "podinfo", port: 9898, targetPort: 9898, portName: "http" },
    strategy: canary(w(10), w(50)),
    alerts: [],
    progressDeadlineSeconds: DEADLINE / S,
    skipAnalysis: false,
    suspend: false,
    revertOnDeletion: false,
    promotionWindows: [],
    ...rest,
    analysis: {
      intervalMs: INTERVAL,
      threshold: 2,
      metrics: [{ name: "request-success-rate", min: 99 }],
      webhooks: [],
      ...analysis,
    },
  };
}

export function conditions(
  ready: [Condition["status"], string, string?],
  promoted: [Condition["status"], string],
  since = at(0),
): Condition[] {
  return [
    {
      type: "Ready",
      status: ready[0],
      reason: ready[1],
      message: ready[2] ?? "",
      lastTransitionTime: since,
    },
    {
      type: "Promoted",
      status: promoted[0],
      reason: promoted[1],
      message: "",
      lastTransitionTime: since,
    },
  ];
}

/** A Rollout resting at Succeeded with the primary on r1. */
export function status(overrides: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    phase: "Succeeded",
    observedGeneration: 1,
    canaryWeight: 0,
    verifiedWeight: 0,
    currentStep: 0,
    failedChecks: 0,
    iterations: 0,
    canaryRevision: "r1",
    primaryRevision: "r1",
    message: "",
    lastTransitionTime: at(0),
    conditions: conditions(["True", "Succeeded"], ["True", "Succeeded"]),
    ...overrides,
  };
}

/** A release of r2 under way, at `step`, its route confirmed since `startedAgo` before now. */
export function running(overrides: Partial<RolloutStatus> = {}): RolloutStatus {
  return status({
    phase: "Progressing",
    canaryRevision: "r2",
    primaryRevision: "r1",
    currentStep: 1,
    canaryWeight: 10,
    verifiedWeight: 10,
    conditions: conditions(["True", "Progressing"], ["Unknown", "Progressing"]),
    ...overrides,
  });
}

export type ObservedOverrides = Partial<Omit<Observed, "target" | "primary" | "traffic">> & {
  target?: Partial<{
    exists: boolean;
    revision: string;
    scaledUp: boolean;
    ready: boolean;
    progressDeadlineExceeded: boolean;
  }>;
  primary?: Partial<{
    exists: boolean;
    revision: string;
    ready: boolean;
    progressDeadlineExceeded: boolean;
  }>;
  /** Both requested and verified. */
  route?: TrafficRoute | undefined;
  requested?: TrafficRoute | undefined;
  verified?: TrafficRoute | undefined;
  /** The control plane holds a policy other than the spec's. */
  policyStale?: boolean;
  /** Who the requested route's confirmation waits for. */
  waitingOn?: string;
  /** Gateway API routes attached to the apex Service. */
  boundBy?: readonly string[];
};

/** The world at rest: primary on r1 and ready, target r1 at zero, everything on the primary. */
export function observed(o: ObservedOverrides = {}): Observed {
  const { target, primary, route, requested, verified, policyStale, waitingOn, boundBy, ...rest } =
    o;
  const t = {
    exists: true,
    revision: "r1",
    scaledUp: false,
    ready: true,
    progressDeadlineExceeded: false,
    ...target,
  };
  const p = {
    exists: true,
    revision: "r1",
    ready: true,
    progressDeadlineExceeded: false,
    ...primary,
  };
  const r = "route" in o ? route : { canaryWeight: 0 };
  return {
    spec: spec(),
    generation: 1,
    status: status(),
    services: { apex: true, primary: true, canary: true },
    analysis: undefined,
    gates: {},
    manual: undefined,
    deleting: false,
    inPromotionWindow: true,
    ...rest,
    target: t.exists
      ? {
          exists: true,
          revision: t.revision,
          scaledUp: t.scaledUp,
          ready: t.ready,
          progressDeadlineExceeded: t.progressDeadlineExceeded,
        }
      : { exists: false },
    primary: p.exists
      ? {
          exists: true,
          revision: p.revision,
          ready: p.ready,
          progressDeadlineExceeded: p.progressDeadlineExceeded,
        }
      : { exists: false },
    traffic: {
      requested: "requested" in o ? requested : r,
      verified: "verified" in o ? verified : r,
      ...(policyStale === undefined ? {} : { policyStale }),
      ...(waitingOn === undefined ? {} : { waitingOn }),
      ...(boundBy === undefined ? {} : { boundBy }),
    },
  };
}

/** The world during a release of r2: the canary up and ready at 10 %. */
export function releasing(o: ObservedOverrides = {}): Observed {
  return observed({
    status: running(),
    route: { canaryWeight: 10 },
    ...o,
    target: { revision: "r2", scaledUp: true, ready: true, ...o.target },
  });
}

export function kinds(p: Plan): string[] {
  return p.actions.map((a) => a.kind);
}

/** The actions that change the world, without events, notifications and requeues. */
export function effective(p: Plan): Action[] {
  return p.actions.filter(
    (a) => a.kind !== "recordEvent" && a.kind !== "notify" && a.kind !== "requeueAfter",
  );
}

export function eventReasons(p: Plan): string[] {
  return p.actions.flatMap((a) => (a.kind === "recordEvent" ? [a.reason] : []));
}

export function notifications(p: Plan): string[] {
  return p.actions.flatMap((a) => (a.kind === "notify" ? [`${a.severity}:${a.event}`] : []));
}

export function requeue(p: Plan): number | undefined {
  const r = p.actions.find((a) => a.kind === "requeueAfter");
  return r?.kind === "requeueAfter" ? r.ms : undefined;
}

export function condition(p: Plan, type: Condition["type"]): [string, string] | undefined {
  const c = p.status.conditions.find((x) => x.type === type);
  return c === undefined ? undefined : [c.status, c.reason];
}

export function run(o: Observed, offsetMs = 0): Plan {
  return plan(o, T0 + offsetMs);
}

/** Picks the listed fields of the status, for comparing a subset. */
export function pick<K extends keyof RolloutStatus>(
  s: RolloutStatus,
  keys: readonly K[],
): Pick<RolloutStatus, K> {
  const out: Partial<Pick<RolloutStatus, K>> = {};
  for (const k of keys) if (k in s) out[k] = s[k];
  return out as Pick<RolloutStatus, K>;
}

/** One action as a short string, so tables read like the plans they expect. */
export function summarize(a: Action): string {
  switch (a.kind) {
    case "ensurePrimary":
      return `ensurePrimary(${a.fromRevision})`;
    case "setTraffic": {
      const r = a.route;
      const extra = [
        r.toApex === true ? "+apex" : "",
        r.matches === undefined ? "" : "+matches",
        r.mirrorPercent === undefined ? "" : `+mirror${r.mirrorPercent}`,
      ].join("");
      return `setTraffic(${r.canaryWeight}${extra})`;
    }
    case "promote":
      return `promote(${a.revision})`;
    case "runAnalysis":
      return `runAnalysis(${a.revision}@${a.step})`;
    case "runWebhooks":
      return `runWebhooks(${a.type})`;
    case "notify":
      return `notify(${a.severity}:${a.event})`;
    case "recordEvent":
      return `event(${a.type}:${a.reason})`;
    case "requeueAfter":
      return `requeue(${a.ms})`;
    case "ensureServices":
    case "scaleTargetToZero":
    case "scaleCanaryUp":
    case "scaleCanaryDown":
    case "revertTarget":
    case "restoreApex":
    case "removePrimary":
    case "removeCanaryService":
    case "clearTraffic":
    case "removeFinalizer":
      return a.kind;
  }
}

export function summary(p: Plan): string[] {
  return p.actions.map(summarize);
}

export interface Case {
  readonly name: string;
  readonly o: Observed;
  /** When to plan, after T0. */
  readonly at?: number;
  readonly phase: RolloutStatus["phase"];
  /** The exact actions, summarized. */
  readonly actions?: readonly string[];
  /** These fields of the new status (absent ones must be absent). */
  readonly status?: Partial<RolloutStatus>;
  readonly ready?: [string, string];
  readonly promoted?: [string, string];
  readonly message?: RegExp;
}

/** One `it` per case. */
export function table(cases: readonly Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const p = run(c.o, c.at ?? 0);
      assert.equal(p.status.phase, c.phase, p.status.message);
      if (c.actions !== undefined) assert.deepEqual(summary(p), c.actions);
      if (c.status !== undefined) {
        const keys = Object.keys(c.status) as (keyof RolloutStatus)[];
        const got: Partial<RolloutStatus> = {};
        for (const k of keys) {
          if (p.status[k] !== undefined) Object.assign(got, { [k]: p.status[k] });
        }
        const want = Object.fromEntries(
          Object.entries(c.status).filter(([, v]) => v !== undefined),
        );
        assert.deepEqual(got, want);
      }
      if (c.ready !== undefined) assert.deepEqual(condition(p, "Ready"), c.ready);
      if (c.promoted !== undefined) assert.deepEqual(condition(p, "Promoted"), c.promoted);
      if (c.message !== undefined) assert.match(p.status.message, c.message);
      // Planning is a function of its input.
      assert.deepEqual(run(c.o, c.at ?? 0), p);
    });
  }
}
