// A tiny in-memory world that applies the planner's actions the way the reconciler and its
// adapters would: Deployments get ready a few seconds after they change, proxies confirm a route
// one tick after it is requested, analysis and gates answer from test-supplied functions. It can
// also crash the controller between acting and writing status, to test resumption.
import assert from "node:assert/strict";
import type {
  Action,
  AnalysisOutcome,
  AnalysisResult,
  GateState,
  GateType,
  ManualRequest,
  Observed,
  Plan,
  TrafficRoute,
} from "../../../src/domain/plan-model.js";
import { GATE_TYPES, isQuery } from "../../../src/domain/plan-model.js";
import { plan } from "../../../src/domain/plan.js";
import type { Phase, RolloutSpec, RolloutStatus } from "../../../src/domain/rollout.js";
import { carriesTraffic } from "../../../src/domain/traffic-route.js";
import { T0 } from "./plan-fixtures.js";

export const READY_DELAY = 3_000;
/** Longest gap between two reconciles (informer events and resyncs would come sooner). */
export const MAX_TICK = 10_000;

export type Fault =
  /** The controller acts, then dies before writing status. */
  | "lostStatus"
  /** It dies halfway through the actions. */
  | "partial"
  /** It restarts: status kept, the control plane's routing memory lost. */
  | "restart";

export interface SimOptions {
  readonly spec: RolloutSpec;
  /** Outcome of the analysis run at `step` (its n-th run overall). */
  readonly analyse?: (step: number, n: number) => AnalysisOutcome;
  readonly gate?: (type: GateType) => GateState;
  readonly fault?: (tick: number) => Fault | undefined;
}

interface Deployment {
  exists: boolean;
  revision: string;
  replicas: number;
  readyAt: number;
  broken: boolean;
}

export class Sim {
  now = T0;
  tick = 0;
  spec: RolloutSpec;
  generation = 1;
  status: RolloutStatus | undefined;
  target: Deployment = { exists: true, revision: "r1", replicas: 2, readyAt: T0, broken: false };
  primary: Deployment = { exists: false, revision: "", replicas: 0, readyAt: 0, broken: false };
  services = { apex: true, primary: false, canary: false, apexOnTarget: false };
  requested: TrafficRoute | undefined;
  verified: TrafficRoute | undefined;
  /** What proxies will have confirmed by the next tick. */
  private inFlight: TrafficRoute | undefined;
  analysis: AnalysisResult | undefined;
  manual: ManualRequest | undefined;
  deleting = false;
  finalizer = true;
  inWindow = true;
  private analyses = 0;

  /** Every plan applied, and what it did. */
  readonly plans: Plan[] = [];
  /** When each plan was made. */
  readonly times: number[] = [];
  /** Every query answered, in order. */
  readonly queries: Action[] = [];
  /** Phases written, in order (a phase planned but lost in a crash is not here). */
  readonly phases: Phase[] = [];
  /** Phases planned, written or not. */
  readonly planned: Phase[] = [];
  readonly applied: Action[] = [];
  readonly weights: number[] = [];
  promotions = 0;

  constructor(private readonly options: SimOptions) {
    this.spec = options.spec;
  }

  /** Continues from where `other` is, world and status alike. */
  copyWorld(other: Sim): void {
    this.now = other.now;
    this.tick = other.tick;
    this.status = other.status;
    this.target = { ...other.target };
    this.primary = { ...other.primary };
    this.services = { ...other.services };
    this.requested = other.requested;
    this.verified = other.verified;
    this.inFlight = other.inFlight;
  }

  /** The target gets a new pod template. */
  release(revision: string, options: { broken?: boolean } = {}): void {
    this.target.revision = revision;
    this.target.broken = options.broken ?? false;
    if (this.target.replicas > 0) this.target.readyAt = this.now + READY_DELAY;
  }

  request(action: ManualRequest["action"], id: string): void {
    this.manual = { action, id };
  }

  observe(): Observed {
    const t = this.target;
    const p = this.primary;
    return {
      spec: this.spec,
      generation: this.generation,
      status: this.status,
      target: t.exists
        ? {
            exists: true,
            revision: t.revision,
            scaledUp: t.replicas > 0,
            ready: t.replicas === 0 || (!t.broken && this.now >= t.readyAt),
            progressDeadlineExceeded: false,
          }
        : { exists: false },
      primary: p.exists
        ? {
            exists: true,
            revision: p.revision,
            ready: !p.broken && this.now >= p.readyAt,
            progressDeadlineExceeded: false,
          }
        : { exists: false },
      services: { ...this.services },
      traffic: { requested: this.requested, verified: this.verified },
      analysis: this.analysis,
      gates: {},
      manual: this.manual,
      deleting: this.deleting,
      inPromotionWindow: this.inWindow,
    };
  }

  /** One reconcile: plan, answer queries and plan again, apply, write status. */
  step(): Plan {
    this.tick++;
    this.verified = this.inFlight;
    let o = this.observe();
    let p = plan(o, this.now);
    for (let round = 0; p.actions.some(isQuery); round++) {
      assert.ok(round < 6, `queries did not settle: ${JSON.stringify(p.actions)}`);
      const gates: Partial<Record<GateType, GateState>> = { ...o.gates };
      for (const a of p.actions) {
        if (isQuery(a)) this.queries.push(a);
        if (a.kind === "runAnalysis") {
          this.analyses++;
          this.analysis = {
            at: this.now,
            outcome: this.options.analyse?.(a.step, this.analyses) ?? "pass",
            details: `run ${this.analyses}`,
          };
        } else if (a.kind === "runWebhooks" && GATE_TYPES.includes(a.type as GateType)) {
          const type = a.type as GateType;
          gates[type] = this.options.gate?.(type) ?? "open";
        }
      }
      o = { ...o, analysis: this.analysis, gates };
      p = plan(o, this.now);
    }
    assert.deepEqual(plan(o, this.now), p, "the same observation plans the same");
    // Deletion is driven by the deletionTimestamp, not by status, so Terminating acts at once.
    const changed = this.status !== undefined && p.status.phase !== this.status.phase;
    if (changed && p.status.phase !== "Terminating") {
      // Except a rollback's routing, sent at once (plan-support.ts, Go.route).
      const acting = p.actions.filter(
        (a) =>
          !["recordEvent", "notify", "requeueAfter", "runWebhooks"].includes(a.kind) &&
          !(a.kind === "setTraffic" && p.status.phase === "Failed"),
      );
      assert.deepEqual(acting, [], "a transition is written before it is acted on");
    }
    this.plans.push(p);
    this.times.push(this.now);
    if (this.planned.at(-1) !== p.status.phase) this.planned.push(p.status.phase);
    const fault = this.options.fault?.(this.tick);
    const actions = fault === "partial" ? p.actions.slice(0, p.actions.length >> 1) : p.actions;
    for (const a of actions) this.apply(a);
    if (fault === undefined || fault === "restart") {
      this.status = p.status;
      if (this.phases.at(-1) !== p.status.phase) this.phases.push(p.status.phase);
    }
    if (fault === "restart") {
      this.requested = undefined;
      this.inFlight = undefined;
    }
    const wait = p.actions.find((a) => a.kind === "requeueAfter");
    const delay = wait?.kind === "requeueAfter" ? wait.ms : MAX_TICK;
    this.now += Math.max(1, Math.min(delay, MAX_TICK));
    return p;
  }

  /** Steps until `done` holds; fails after `limit` reconciles. */
  until(done: (sim: Sim) => boolean, limit = 400): void {
    for (let i = 0; i < limit; i++) {
      if (done(this)) return;
      this.step();
    }
    assert.fail(
      `not done after ${limit} reconciles; phase ${this.status?.phase ?? "none"}: ${this.status?.message ?? ""}`,
    );
  }

  /** Steps until the status reaches `phase`. */
  untilPhase(phase: Phase, limit = 400): void {
    this.until((s) => s.status?.phase === phase, limit);
  }

  /** How many analyses ran. */
  analysesRun(): number {
    return this.queries.filter((a) => a.kind === "runAnalysis").length;
  }

  /** The events recorded so far, by reason. */
  events(): string[] {
    return this.applied.flatMap((a) => (a.kind === "recordEvent" ? [a.reason] : []));
  }

  notified(): string[] {
    return this.applied.flatMap((a) => (a.kind === "notify" ? [a.event] : []));
  }

  private apply(a: Action): void {
    this.applied.push(a);
    switch (a.kind) {
      case "ensurePrimary":
        assert.equal(
          this.target.revision,
          a.fromRevision,
          "ensurePrimary from the analysed revision",
        );
        this.primary = {
          exists: true,
          revision: a.fromRevision,
          replicas: 2,
          readyAt: this.now + READY_DELAY,
          broken: this.target.broken,
        };
        return;
      case "ensureServices":
        this.services = { apex: true, primary: true, canary: true, apexOnTarget: false };
        return;
      case "restoreApex":
        // The apex's own endpoints change: nothing may be using them but a route to the canary.
        assert.ok(
          this.routesOnlyTo("canary"),
          `restoreApex while ${JSON.stringify(this.verified)} is routed`,
        );
        assert.ok(this.target.replicas > 0 && this.now >= this.target.readyAt, "target ready");
        this.services = { ...this.services, apexOnTarget: true };
        return;
      case "removePrimary":
        assert.ok(this.routesOnlyTo("apex"), "removePrimary while proxies may route to it");
        this.primary = { ...this.primary, exists: false };
        this.services = { ...this.services, primary: false };
        return;
      case "removeCanaryService":
        assert.ok(this.routesOnlyTo("apex"), "removeCanaryService while proxies may route to it");
        this.services = { ...this.services, canary: false };
        return;
      case "clearTraffic":
        assert.ok(this.services.apexOnTarget, "clearTraffic sends the apex to the primary");
        this.requested = undefined;
        this.inFlight = undefined;
        this.verified = undefined;
        return;
      case "scaleTargetToZero":
      case "scaleCanaryDown":
        assert.ok(
          (this.verified === undefined || !carriesTraffic(this.verified)) &&
            (this.requested === undefined || !carriesTraffic(this.requested)),
          `${a.kind} while the canary takes traffic`,
        );
        this.target.replicas = 0;
        return;
      case "scaleCanaryUp":
      case "revertTarget":
        if (this.target.replicas === 0) {
          this.target.replicas = 2;
          this.target.readyAt = this.now + READY_DELAY;
        }
        return;
      case "setTraffic":
        this.checkRoute(a.route);
        this.requested = a.route;
        this.inFlight = a.route;
        if (this.weights.at(-1) !== a.route.canaryWeight) this.weights.push(a.route.canaryWeight);
        return;
      case "promote":
        assert.equal(this.target.revision, a.revision, "promote the analysed revision");
        assert.notEqual(this.primary.revision, a.revision, "promote only once");
        this.promotions++;
        this.primary = {
          ...this.primary,
          revision: a.revision,
          readyAt: this.now + READY_DELAY,
          broken: this.target.broken,
        };
        return;
      case "removeFinalizer":
        this.finalizer = false;
        return;
      case "runAnalysis":
      case "runWebhooks":
      case "notify":
      case "recordEvent":
      case "requeueAfter":
        return;
    }
  }

  /** Whether every proxy, whatever it has confirmed or is about to, sends the apex only there. */
  private routesOnlyTo(where: "canary" | "apex"): boolean {
    const only = (r: TrafficRoute | undefined): boolean =>
      r?.canaryWeight === 100 && (r.toApex === true) === (where === "apex");
    return only(this.verified) && only(this.requested) && only(this.inFlight);
  }

  /** No route may send requests where nothing can serve them. */
  private checkRoute(route: TrafficRoute): void {
    if (route.toApex === true) {
      assert.ok(this.services.apexOnTarget, "route to an apex that does not select the target");
      return;
    }
    if (carriesTraffic(route)) {
      assert.ok(this.target.replicas > 0, `route ${JSON.stringify(route)} to a canary at zero`);
    }
    if (route.canaryWeight < 100) {
      assert.ok(this.primary.exists, `route ${JSON.stringify(route)} to a missing primary`);
    }
  }
}
