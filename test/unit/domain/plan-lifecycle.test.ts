// Table tests of the resting and bookend phases: first sight, Initializing, Initialized and
// Succeeded at rest, invalid specs, a missing target or primary, suspend, and deletion.
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import type { Case } from "./plan-fixtures.js";
import {
  at,
  conditions,
  DEADLINE,
  MIN,
  observed,
  releasing,
  S,
  spec,
  status,
  table,
} from "./plan-fixtures.js";

const initializing = (overrides: Partial<RolloutStatus> = {}): RolloutStatus =>
  status({
    phase: "Initializing",
    canaryRevision: undefined,
    primaryRevision: undefined,
    conditions: conditions(["False", "Initializing"], ["Unknown", "Initializing"]),
    ...overrides,
  });

const waitingFor = (reason: NonNullable<RolloutStatus["waitingFor"]>["reason"], since = at(0)) => ({
  waitingFor: { reason, since },
});

describe("plan: first sight and Initializing", () => {
  table([
    {
      name: "first sight: creates the Services and the primary, waits for it",
      o: observed({
        status: undefined,
        primary: { exists: false },
        services: { apex: true, primary: false, canary: false },
        route: undefined,
        target: { scaledUp: true },
      }),
      phase: "Initializing",
      actions: [
        "ensureServices",
        "ensurePrimary(r1)",
        "event(Normal:Initializing)",
        "requeue(2000)",
      ],
      status: {
        lastTransitionTime: at(0),
        ...waitingFor("primaryReady"),
        canaryWeight: 0,
        currentStep: 0,
      },
      ready: ["False", "Initializing"],
      promoted: ["Unknown", "Initializing"],
    },
    {
      name: "primary not ready yet: waits, the wait's clock kept",
      o: observed({
        status: initializing(waitingFor("primaryReady")),
        primary: { ready: false },
        route: undefined,
        target: { scaledUp: true },
      }),
      at: 30 * S,
      phase: "Initializing",
      actions: ["requeue(2000)"],
      status: waitingFor("primaryReady"),
      message: /Waiting for podinfo-primary \(revision r1\) to become ready/,
    },
    {
      name: "primary not ready past the progress deadline: Ready False and one alert, still waiting",
      o: observed({
        status: initializing(waitingFor("primaryReady")),
        primary: { ready: false },
        route: undefined,
        target: { scaledUp: true },
      }),
      at: DEADLINE + 1,
      phase: "Initializing",
      actions: [
        "event(Warning:ProgressDeadlineExceeded)",
        "notify(error:progressDeadlineExceeded)",
        "requeue(2000)",
      ],
      ready: ["False", "ProgressDeadlineExceeded"],
      message: /progress deadline of 10m exceeded/,
    },
    {
      name: "primary past the deadline, already alerted: no second alert",
      o: observed({
        status: initializing({
          ...waitingFor("primaryReady"),
          conditions: conditions(
            ["False", "ProgressDeadlineExceeded"],
            ["Unknown", "Initializing"],
          ),
        }),
        primary: { ready: false },
        route: undefined,
        target: { scaledUp: true },
      }),
      at: DEADLINE + 60 * S,
      phase: "Initializing",
      actions: ["requeue(2000)"],
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "primary's own Deployment deadline exceeded: alerts at once",
      o: observed({
        status: initializing(),
        primary: { ready: false, progressDeadlineExceeded: true },
        route: undefined,
        target: { scaledUp: true },
      }),
      phase: "Initializing",
      actions: [
        "event(Warning:ProgressDeadlineExceeded)",
        "notify(error:progressDeadlineExceeded)",
        "requeue(2000)",
      ],
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "primary ready, Services missing: creates them before routing anything",
      o: observed({
        status: initializing(),
        services: { apex: true, primary: true, canary: false },
        route: undefined,
        target: { scaledUp: true },
      }),
      phase: "Initializing",
      actions: ["ensureServices", "requeue(2000)"],
    },
    {
      name: "primary ready: routes everything to it and waits for every proxy",
      o: observed({ status: initializing(), route: undefined, target: { scaledUp: true } }),
      at: 5 * S,
      phase: "Initializing",
      actions: ["setTraffic(0)", "requeue(2000)"],
      status: { ...waitingFor("trafficVerified", at(5 * S)), canaryWeight: 0 },
    },
    {
      name: "proxies never confirm: Ready False past the deadline, the target keeps serving",
      o: observed({
        status: initializing(waitingFor("trafficVerified")),
        requested: { canaryWeight: 0 },
        verified: undefined,
        target: { scaledUp: true },
      }),
      at: DEADLINE + 1,
      phase: "Initializing",
      actions: [
        "event(Warning:ProgressDeadlineExceeded)",
        "notify(error:progressDeadlineExceeded)",
        "requeue(2000)",
      ],
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "every proxy routes to the primary: scales the target to zero",
      o: observed({ status: initializing(), target: { scaledUp: true } }),
      phase: "Initializing",
      actions: ["scaleTargetToZero", "requeue(2000)"],
    },
    {
      name: "target at zero: Initialized",
      o: observed({ status: initializing({ lastTransitionTime: at(-MIN) }) }),
      at: 7 * S,
      phase: "Initialized",
      actions: ["event(Normal:Initialized)", "notify(info:initialized)", "requeue(0)"],
      status: { primaryRevision: "r1", canaryRevision: undefined, lastTransitionTime: at(7 * S) },
      ready: ["True", "Initialized"],
      promoted: ["True", "Initialized"],
      message: /Initialization done: podinfo-primary serves revision r1/,
    },
  ]);
});

describe("plan: at rest", () => {
  const initialized = status({
    phase: "Initialized",
    canaryRevision: undefined,
    conditions: conditions(["True", "Initialized"], ["True", "Initialized"]),
  });
  table([
    {
      name: "Succeeded, nothing changed: nothing to do",
      o: observed(),
      phase: "Succeeded",
      actions: [],
      status: { lastTransitionTime: at(0), waitingFor: undefined },
      ready: ["True", "Succeeded"],
      promoted: ["True", "Succeeded"],
    },
    {
      name: "Initialized, target scaled back up by someone: scaled to zero again",
      o: observed({ status: initialized, target: { scaledUp: true } }),
      phase: "Initialized",
      actions: ["scaleTargetToZero"],
    },
    {
      name: "Succeeded, canary still up: scaled down",
      o: observed({ target: { scaledUp: true } }),
      phase: "Succeeded",
      actions: ["scaleCanaryDown"],
    },
    {
      name: "control plane restarted (no routing known): routes again, scales nothing yet",
      o: observed({ route: undefined, target: { scaledUp: true } }),
      phase: "Succeeded",
      actions: ["setTraffic(0)"],
    },
    {
      name: "Services deleted by someone: created again",
      o: observed({ services: { apex: true, primary: false, canary: true } }),
      phase: "Succeeded",
      actions: ["ensureServices"],
    },
  ]);
});

describe("plan: invalid spec, missing target, suspend", () => {
  const invalid = {
    invalid: true as const,
    reason: "InvalidSpec",
    message: "steps: weights must increase",
  };
  table([
    {
      name: "invalid spec: phase kept, Ready False with the parser's reason, one Warning Event",
      o: observed({ spec: invalid, target: { revision: "r2" }, generation: 4 }),
      at: MIN,
      phase: "Succeeded",
      actions: ["event(Warning:InvalidSpec)"],
      status: {
        observedGeneration: 4,
        message: "Invalid spec: steps: weights must increase",
        lastTransitionTime: at(0),
      },
      ready: ["False", "InvalidSpec"],
      promoted: ["True", "Succeeded"],
    },
    {
      name: "invalid spec on first sight: Initializing, nothing done but the Event",
      o: observed({ spec: invalid, status: undefined }),
      phase: "Initializing",
      actions: ["event(Warning:InvalidSpec)"],
      ready: ["False", "InvalidSpec"],
    },
    {
      name: "invalid spec already reported: no second Event",
      o: observed({
        spec: invalid,
        status: status({
          conditions: conditions(
            ["False", "InvalidSpec", "Invalid spec: steps: weights must increase"],
            ["True", "Succeeded"],
          ),
        }),
      }),
      phase: "Succeeded",
      actions: [],
    },
    {
      name: "invalid spec while deleted: the finalizer goes, nothing reverted",
      o: observed({ spec: invalid, deleting: true }),
      phase: "Terminating",
      actions: ["removeFinalizer"],
    },
    {
      name: "target missing: Ready False TargetNotFound and one event, no crash",
      o: observed({ target: { exists: false } }),
      phase: "Succeeded",
      actions: ["event(Warning:TargetNotFound)"],
      ready: ["False", "TargetNotFound"],
      message: /^Deployment podinfo not found$/,
    },
    {
      name: "target still missing: no second event",
      o: observed({
        target: { exists: false },
        status: status({
          conditions: conditions(["False", "TargetNotFound"], ["True", "Succeeded"]),
        }),
      }),
      phase: "Succeeded",
      actions: [],
    },
    {
      name: "target missing on first sight: Initializing, waiting for it",
      o: observed({ target: { exists: false }, status: undefined, primary: { exists: false } }),
      phase: "Initializing",
      actions: ["event(Normal:Initializing)", "event(Warning:TargetNotFound)"],
      ready: ["False", "TargetNotFound"],
    },
    {
      name: "target deleted mid-release: nothing routed to a canary that is gone, phase kept",
      o: releasing({ target: { exists: false } }),
      phase: "Progressing",
      actions: ["setTraffic(0)", "event(Warning:TargetNotFound)"],
      status: { canaryWeight: 0, currentStep: 1 },
    },
    {
      name: "suspended: no action at all, a pending request left for later",
      o: observed({
        spec: spec({ suspend: true }),
        target: { revision: "r2" },
        manual: { action: "abort", id: "a-1" },
      }),
      phase: "Succeeded",
      actions: [],
      status: { handledAction: undefined },
      message: /^Suspended \(spec.suspend\) while Succeeded$/,
    },
    {
      name: "suspended mid-release: the step's clock does not run out",
      o: releasing({
        spec: spec({ suspend: true }),
        status: status({
          phase: "Progressing",
          canaryRevision: "r2",
          ...waitingFor("trafficVerified"),
        }),
        verified: { canaryWeight: 0 },
      }),
      at: DEADLINE * 2,
      phase: "Progressing",
      actions: [],
      status: { waitingFor: undefined },
    },
  ]);
});

describe("plan: primary missing", () => {
  table([
    {
      name: "primary deleted at rest: initializing again",
      o: observed({ primary: { exists: false } }),
      phase: "Initializing",
      actions: ["event(Warning:PrimaryMissing)", "requeue(0)"],
    },
    {
      name: "initializing again from the target, which still runs the primary's revision",
      o: observed({ status: initializing({ primaryRevision: "r1" }), primary: { exists: false } }),
      phase: "Initializing",
      actions: ["ensurePrimary(r1)", "requeue(2000)"],
    },
    {
      name: "not from a target that runs an unreleased revision",
      o: observed({
        status: initializing({ primaryRevision: "r1" }),
        primary: { exists: false },
        target: { revision: "r2" },
      }),
      phase: "Initializing",
      actions: [],
      ready: ["False", "PrimaryMissing"],
    },
  ]);
});

describe("plan: deletion", () => {
  const revert = spec({ revertOnDeletion: true });
  const terminating = status({ phase: "Terminating" });
  const cases: Case[] = [
    {
      name: "without revertOnDeletion: the finalizer goes at once",
      o: observed({ deleting: true }),
      phase: "Terminating",
      actions: ["removeFinalizer", "event(Normal:Terminating)"],
      ready: ["False", "Terminating"],
    },
    {
      name: "revert: scales the target back up and waits for it",
      o: observed({ deleting: true, spec: revert }),
      phase: "Terminating",
      actions: ["revertTarget", "event(Normal:Terminating)", "requeue(2000)"],
      status: waitingFor("targetReady"),
    },
    {
      name: "revert: target ready, all traffic to it",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
      }),
      phase: "Terminating",
      actions: ["setTraffic(100)", "requeue(2000)"],
    },
    {
      name: "revert: every proxy routes to the target; the apex is pointed at it",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
        route: { canaryWeight: 100 },
      }),
      phase: "Terminating",
      actions: ["restoreApex", "requeue(2000)"],
      status: waitingFor("targetReady"),
    },
    {
      name: "revert: the apex serves the target; every proxy is sent to the apex's own endpoints",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
        services: { apex: true, primary: true, canary: true, apexOnTarget: true },
        route: { canaryWeight: 100 },
      }),
      phase: "Terminating",
      actions: ["setTraffic(100+apex)", "requeue(2000)"],
      status: waitingFor("trafficVerified"),
    },
    {
      name: "revert: every proxy routes to the apex; primary, Services and routing go, then the Rollout",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
        services: { apex: true, primary: true, canary: true, apexOnTarget: true },
        route: { canaryWeight: 100, toApex: true },
      }),
      phase: "Terminating",
      actions: ["removePrimary", "removeCanaryService", "clearTraffic", "removeFinalizer"],
      message: /^Reverted to podinfo; deleting$/,
    },
    {
      name: "revert: resumed after the primary went, the rest goes",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
        primary: { exists: false },
        services: { apex: true, primary: false, canary: true, apexOnTarget: true },
        route: { canaryWeight: 100, toApex: true },
      }),
      phase: "Terminating",
      actions: ["removeCanaryService", "clearTraffic", "removeFinalizer"],
    },
    {
      name: "revert: the controller restarted (no routing known); the target is routed to first",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true },
        route: undefined,
      }),
      phase: "Terminating",
      actions: ["setTraffic(100)", "requeue(2000)"],
    },
    {
      name: "revert: target scaled up but not ready yet: no action, a wait",
      o: observed({
        deleting: true,
        spec: revert,
        status: terminating,
        target: { scaledUp: true, ready: false },
      }),
      phase: "Terminating",
      actions: ["requeue(2000)"],
      status: waitingFor("targetReady"),
    },
    {
      name: "revert: target gone, nothing to revert",
      o: observed({ deleting: true, spec: revert, status: terminating, target: { exists: false } }),
      phase: "Terminating",
      actions: ["removeFinalizer"],
    },
    {
      name: "revert: target never ready, deletion not blocked past the deadline",
      o: observed({
        deleting: true,
        spec: revert,
        status: status({ phase: "Terminating", ...waitingFor("targetReady") }),
        target: { scaledUp: true, ready: false },
      }),
      at: DEADLINE + 1,
      phase: "Terminating",
      actions: ["removeFinalizer", "event(Warning:RevertFailed)"],
    },
    {
      name: "revert: proxies never confirm, deletion not blocked past the deadline",
      o: observed({
        deleting: true,
        spec: revert,
        status: status({ phase: "Terminating", ...waitingFor("trafficVerified") }),
        target: { scaledUp: true },
        requested: { canaryWeight: 100 },
        verified: { canaryWeight: 0 },
      }),
      at: DEADLINE + 1,
      phase: "Terminating",
      actions: ["removeFinalizer", "event(Warning:RevertFailed)"],
    },
    {
      name: "deleted mid-release: Terminating takes over",
      o: releasing({ deleting: true }),
      phase: "Terminating",
      actions: ["removeFinalizer", "event(Normal:Terminating)"],
    },
  ];
  table(cases);
});
