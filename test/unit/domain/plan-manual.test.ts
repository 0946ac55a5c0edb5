// Table tests of manual requests: promote, abort, retry, pause and resume in every phase where
// they apply, ignored (once, with a reason) where they do not, each handled exactly once by id.
import type { ManualRequestAction } from "../../../src/domain/plan-model.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import type { ObservedOverrides } from "./plan-fixtures.js";
import {
  at,
  canary,
  conditions,
  observed,
  pause,
  releasing,
  running,
  spec,
  status,
  table,
  w,
  webhook,
} from "./plan-fixtures.js";

const request = (action: ManualRequestAction, id = "req-1") => ({ manual: { action, id } });
const IGNORED = "event(Warning:ManualActionIgnored)";
const ASKED = "event(Normal:ManualAction)";

const waiting = (o: ObservedOverrides = {}) =>
  observed({
    status: status({ phase: "Waiting", canaryRevision: "r2" }),
    spec: spec({ analysis: { webhooks: [webhook("confirm-rollout")] } }),
    target: { revision: "r2" },
    gates: { "confirm-rollout": "closed" },
    ...o,
  });
const progressing = (o: ObservedOverrides = {}) =>
  releasing({ status: running({ stepStartedAt: at(0), lastAnalysisAt: at(0) }), ...o });
const paused = (o: ObservedOverrides = {}) =>
  releasing({
    status: running({ phase: "Paused", stepStartedAt: at(0), lastAnalysisAt: at(0) }),
    ...o,
  });
const heldAtPause = (o: ObservedOverrides = {}) =>
  releasing({
    spec: spec({ strategy: canary(w(10), pause(), w(50)) }),
    status: running({
      phase: "Paused",
      currentStep: 2,
      stepStartedAt: at(0),
      lastAnalysisAt: at(0),
    }),
    ...o,
  });
const waitingPromotion = (o: ObservedOverrides = {}) =>
  releasing({
    status: running({
      phase: "WaitingPromotion",
      currentStep: 2,
      canaryWeight: 50,
      stepStartedAt: at(0),
      lastAnalysisAt: at(0),
    }),
    spec: spec({ analysis: { webhooks: [webhook("confirm-promotion")] } }),
    route: { canaryWeight: 50 },
    gates: { "confirm-promotion": "closed" },
    ...o,
  });
const promoting = (primaryRevision: string, o: ObservedOverrides = {}) =>
  releasing({
    status: running({ phase: "Promoting", currentStep: 2, canaryWeight: 100 }),
    route: { canaryWeight: 100 },
    primary: { revision: primaryRevision, ready: false },
    ...o,
  });
const failed = (overrides: Partial<RolloutStatus> = {}, o: ObservedOverrides = {}) =>
  releasing({
    status: running({
      phase: "Failed",
      canaryWeight: 0,
      failedChecks: 2,
      conditions: conditions(["False", "FailedChecks"], ["False", "Failed"]),
      ...overrides,
    }),
    route: { canaryWeight: overrides.canaryWeight ?? 0 },
    target: { scaledUp: false },
    ...o,
  });

describe("plan: manual promote", () => {
  table([
    {
      name: "Waiting: approves the start",
      o: waiting(request("promote")),
      phase: "Progressing",
      actions: [ASKED, "event(Normal:Approved)", "notify(info:started)", "requeue(0)"],
      status: { handledAction: "req-1", canaryRevision: "r2", currentStep: 0 },
    },
    {
      name: "Progressing: skips the remaining steps",
      o: progressing(request("promote")),
      phase: "Promoting",
      actions: [ASKED, "event(Normal:Promoting)", "requeue(0)"],
      status: { handledAction: "req-1", currentStep: 1 },
      message: /promoted by request, remaining steps skipped/,
    },
    {
      name: "Progressing outside a promotion window: a person decides, not the window",
      o: progressing({ ...request("promote"), inPromotionWindow: false }),
      phase: "Promoting",
    },
    {
      name: "Paused by request: skips the remaining steps",
      o: paused(request("promote")),
      phase: "Promoting",
      actions: [ASKED, "event(Normal:Promoting)", "requeue(0)"],
    },
    {
      name: "held by pause {}: releases the pause only",
      o: heldAtPause(request("promote")),
      phase: "Progressing",
      actions: [ASKED, "event(Normal:Resumed)", "requeue(0)"],
      status: { currentStep: 2, iterations: 1, handledAction: "req-1" },
    },
    {
      name: "released pause {}: the next plan goes on to the next step",
      o: heldAtPause({
        status: running({
          currentStep: 2,
          iterations: 1,
          stepStartedAt: at(0),
          lastAnalysisAt: at(0),
        }),
      }),
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: { currentStep: 3 },
    },
    {
      name: "WaitingPromotion: approves the promotion",
      o: waitingPromotion(request("promote")),
      phase: "Promoting",
      actions: [ASKED, "event(Normal:Promoting)", "requeue(0)"],
    },
    {
      name: "Succeeded: ignored, with the reason",
      o: observed(request("promote")),
      phase: "Succeeded",
      actions: [IGNORED],
      status: { handledAction: "req-1" },
    },
    {
      name: "Promoting: ignored, the promotion goes on",
      o: promoting("r2", request("promote")),
      phase: "Promoting",
      actions: [IGNORED, "requeue(2000)"],
    },
    {
      name: "Failed: ignored (retry is the word)",
      o: failed({}, request("promote")),
      phase: "Failed",
      actions: [IGNORED],
    },
  ]);
});

describe("plan: manual abort", () => {
  const ROLLED_BACK = [
    ASKED,
    "event(Warning:RolledBack)",
    "notify(error:rolledBack)",
    "requeue(0)",
  ];
  table([
    {
      name: "Progressing: rolled back now",
      o: progressing(request("abort")),
      phase: "Failed",
      actions: ROLLED_BACK,
      status: { canaryWeight: 0, handledAction: "req-1" },
      ready: ["False", "Aborted"],
      promoted: ["False", "Failed"],
      message: /Rolled back podinfo revision r2: aborted by request req-1/,
    },
    {
      name: "Waiting: rolled back",
      o: waiting(request("abort")),
      phase: "Failed",
      actions: ROLLED_BACK,
    },
    {
      name: "Paused: rolled back",
      o: paused(request("abort")),
      phase: "Failed",
      actions: ROLLED_BACK,
    },
    {
      name: "WaitingPromotion: rolled back",
      o: waitingPromotion(request("abort")),
      phase: "Failed",
      actions: ROLLED_BACK,
    },
    {
      name: "Promoting, primary not yet changed: rolled back",
      o: promoting("r1", request("abort")),
      phase: "Failed",
      actions: ROLLED_BACK,
    },
    {
      name: "Promoting, primary already on the new revision: ignored",
      o: promoting("r2", request("abort")),
      phase: "Promoting",
      actions: [IGNORED, "requeue(2000)"],
    },
    {
      name: "Succeeded: ignored",
      o: observed(request("abort")),
      phase: "Succeeded",
      actions: [IGNORED],
    },
  ]);
});

describe("plan: manual retry", () => {
  table([
    {
      name: "Failed: the same revision released again from the start",
      o: failed({}, request("retry")),
      phase: "Progressing",
      actions: [ASKED, "event(Normal:Retry)", "notify(info:started)", "requeue(0)"],
      status: { canaryRevision: "r2", currentStep: 0, failedChecks: 0, iterations: 0 },
      ready: ["True", "Progressing"],
    },
    {
      name: "Failed in promotion: the promotion is retried",
      o: failed({ canaryWeight: 100 }, request("retry")),
      phase: "Promoting",
      actions: [ASKED, "event(Normal:Promoting)", "requeue(0)"],
      status: { canaryWeight: 100 },
    },
    {
      name: "Failed, target changed since: ignored, the new revision released instead",
      o: failed({}, { ...request("retry"), target: { revision: "r3", scaledUp: false } }),
      phase: "Progressing",
      actions: [IGNORED, "event(Normal:NewRevision)", "notify(info:started)", "requeue(0)"],
      status: { canaryRevision: "r3", handledAction: "req-1" },
    },
    {
      name: "Progressing: ignored",
      o: progressing(request("retry")),
      at: 10_000,
      phase: "Progressing",
      actions: [IGNORED, "requeue(50000)"],
    },
  ]);
});

describe("plan: manual pause and resume", () => {
  table([
    {
      name: "Progressing: paused",
      o: progressing(request("pause")),
      phase: "Paused",
      actions: [ASKED, "event(Normal:Paused)", "requeue(0)"],
      status: { currentStep: 1 },
    },
    {
      name: "WaitingPromotion: paused (an approval then does not promote)",
      o: waitingPromotion(request("pause")),
      phase: "Paused",
    },
    {
      name: "Paused: ignored, already paused",
      o: paused(request("pause")),
      at: 10_000,
      phase: "Paused",
      actions: [IGNORED, "requeue(50000)"],
    },
    {
      name: "Waiting: ignored, still waiting",
      o: waiting(request("pause")),
      phase: "Waiting",
      actions: [IGNORED, "requeue(60000)"],
    },
    {
      name: "resume: back to Progressing",
      o: paused(request("resume")),
      phase: "Progressing",
      actions: [ASKED, "event(Normal:Resumed)", "requeue(0)"],
    },
    {
      name: "resume at pause {}: ignored, promote is needed",
      o: heldAtPause(request("resume")),
      at: 10_000,
      phase: "Paused",
      actions: [IGNORED, "requeue(50000)"],
    },
    {
      name: "resume when not paused: ignored",
      o: observed(request("resume")),
      phase: "Succeeded",
      actions: [IGNORED],
    },
  ]);
});

describe("plan: manual requests are handled once", () => {
  table([
    {
      name: "a request already handled is not applied again",
      o: progressing({
        ...request("abort", "a-1"),
        status: running({ stepStartedAt: at(0), lastAnalysisAt: at(0), handledAction: "a-1" }),
      }),
      at: 10_000,
      phase: "Progressing",
      actions: ["requeue(50000)"],
      status: { handledAction: "a-1" },
    },
    {
      name: "a new request with a new id is",
      o: progressing({
        ...request("abort", "a-2"),
        status: running({ stepStartedAt: at(0), lastAnalysisAt: at(0), handledAction: "a-1" }),
      }),
      phase: "Failed",
      status: { handledAction: "a-2" },
    },
  ]);
});
