// Table tests of a release before promotion: a new revision, Waiting, Progressing step by step,
// analysis, gates, windows, pauses, restarts, WaitingPromotion and Paused.
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import {
  at,
  canary,
  conditions,
  DEADLINE,
  HEADER_MATCH,
  INTERVAL,
  MIN,
  observed,
  pause,
  releasing,
  running,
  S,
  spec,
  status,
  table,
  w,
  webhook,
} from "./plan-fixtures.js";

const hooks = (...types: Parameters<typeof webhook>[0][]) =>
  spec({ analysis: { webhooks: types.map((t) => webhook(t)) } });

const waitingFor = (reason: NonNullable<RolloutStatus["waitingFor"]>["reason"], since = at(0)) => ({
  waitingFor: { reason, since },
});

const ROLLED_BACK = ["event(Warning:RolledBack)", "notify(error:rolledBack)", "requeue(0)"];

describe("plan: a new revision", () => {
  const initialized = status({
    phase: "Initialized",
    canaryRevision: undefined,
    conditions: conditions(["True", "Initialized"], ["True", "Initialized"]),
  });
  table([
    {
      name: "Succeeded, target changed: Progressing, the canary about to scale up",
      o: observed({ target: { revision: "r2" } }),
      at: MIN,
      phase: "Progressing",
      actions: ["event(Normal:NewRevision)", "notify(info:started)", "requeue(0)"],
      status: {
        canaryRevision: "r2",
        primaryRevision: "r1",
        currentStep: 0,
        failedChecks: 0,
        iterations: 0,
        canaryWeight: 0,
        lastTransitionTime: at(MIN),
      },
      ready: ["True", "Progressing"],
      promoted: ["Unknown", "Progressing"],
      message: /New revision r2 of podinfo: starting the release/,
    },
    {
      name: "Initialized, target changed: Progressing",
      o: observed({ status: initialized, target: { revision: "r2" } }),
      phase: "Progressing",
      actions: ["event(Normal:NewRevision)", "notify(info:started)", "requeue(0)"],
    },
    {
      name: "confirm-rollout configured: asked first",
      o: observed({ spec: hooks("confirm-rollout"), target: { revision: "r2" } }),
      phase: "Succeeded",
      actions: ["runWebhooks(confirm-rollout)"],
    },
    {
      name: "confirm-rollout closed: Waiting, with an alert",
      o: observed({
        spec: hooks("confirm-rollout"),
        target: { revision: "r2" },
        gates: { "confirm-rollout": "closed" },
      }),
      phase: "Waiting",
      actions: ["event(Normal:WaitingForApproval)", "notify(warn:waitingApproval)", "requeue(0)"],
      status: { canaryRevision: "r2" },
      promoted: ["Unknown", "Waiting"],
    },
    {
      name: "confirm-rollout did not answer: Waiting, one failed check, with an alert",
      o: observed({
        spec: hooks("confirm-rollout"),
        target: { revision: "r2" },
        gates: { "confirm-rollout": "failed" },
      }),
      phase: "Waiting",
      actions: ["event(Warning:GateFailed)", "notify(warn:waitingApproval)", "requeue(0)"],
      status: { canaryRevision: "r2", failedChecks: 1 },
      message: /^confirm-rollout webhooks did not answer \(1\/2 failed checks\)$/,
    },
  ]);
});

describe("plan: Waiting", () => {
  const waiting = status({
    phase: "Waiting",
    canaryRevision: "r2",
    conditions: conditions(["True", "Waiting"], ["Unknown", "Waiting"]),
  });
  const o = (overrides: Parameters<typeof observed>[0] = {}) =>
    observed({
      status: waiting,
      spec: hooks("confirm-rollout"),
      target: { revision: "r2" },
      ...overrides,
    });
  table([
    {
      name: "asks confirm-rollout again",
      o: o(),
      phase: "Waiting",
      actions: ["runWebhooks(confirm-rollout)"],
    },
    {
      name: "closed: waits, polling every interval, the canary not scaled up",
      o: o({ gates: { "confirm-rollout": "closed" } }),
      phase: "Waiting",
      actions: ["requeue(60000)"],
      status: waitingFor("approval"),
      message: /Revision r2 waits for approval \(confirm-rollout\)/,
    },
    {
      name: "closed for hours without a gate deadline: still waits",
      o: o({
        status: { ...waiting, ...waitingFor("approval") },
        gates: { "confirm-rollout": "closed" },
      }),
      at: 10 * DEADLINE,
      phase: "Waiting",
      actions: ["requeue(60000)"],
      status: waitingFor("approval"),
    },
    {
      name: "closed past the webhook's deadline: Failed",
      o: o({
        spec: spec({ analysis: { webhooks: [webhook("confirm-rollout", 5 * MIN)] } }),
        status: { ...waiting, ...waitingFor("approval") },
        gates: { "confirm-rollout": "closed" },
      }),
      at: 5 * MIN + 1,
      phase: "Failed",
      actions: ROLLED_BACK,
      ready: ["False", "GateFailed"],
    },
    {
      name: "open: Progressing",
      o: o({ gates: { "confirm-rollout": "open" } }),
      phase: "Progressing",
      actions: ["event(Normal:Approved)", "notify(info:started)", "requeue(0)"],
      status: { canaryRevision: "r2", currentStep: 0 },
    },
    {
      name: "no answer (timeout, 5xx): a failed check, asked again after an interval",
      o: o({ gates: { "confirm-rollout": "failed" } }),
      phase: "Waiting",
      actions: ["event(Warning:GateFailed)", "requeue(60000)"],
      status: { failedChecks: 1 },
    },
    {
      name: "no answer at the threshold: Failed",
      o: o({ status: { ...waiting, failedChecks: 1 }, gates: { "confirm-rollout": "failed" } }),
      phase: "Failed",
      actions: ["event(Warning:GateFailed)", ...ROLLED_BACK],
      ready: ["False", "GateFailed"],
    },
    {
      name: "a newer revision while waiting: it waits instead",
      o: o({ target: { revision: "r3" } }),
      phase: "Waiting",
      actions: ["runWebhooks(confirm-rollout)"],
      status: { canaryRevision: "r3" },
    },
    {
      name: "target reverted to the primary's revision: nothing to release",
      o: o({ target: { revision: "r1" } }),
      phase: "Initialized",
      actions: ["event(Normal:Reverted)", "requeue(0)"],
      status: { primaryRevision: "r1", canaryRevision: undefined },
    },
    {
      name: "rollback webhooks are polled with the gate",
      o: o({ spec: hooks("confirm-rollout", "rollback") }),
      phase: "Waiting",
      actions: ["runWebhooks(confirm-rollout)", "runWebhooks(rollback)"],
    },
    {
      name: "a rollback webhook fires: Failed",
      o: o({
        spec: hooks("confirm-rollout", "rollback"),
        gates: { "confirm-rollout": "closed", rollback: "open" },
      }),
      phase: "Failed",
      actions: ROLLED_BACK,
      ready: ["False", "RollbackWebhook"],
    },
  ]);
});

describe("plan: Progressing, scaling the canary up (step 0)", () => {
  const st = (overrides: Partial<RolloutStatus> = {}) =>
    running({ currentStep: 0, canaryWeight: 0, verifiedWeight: 0, ...overrides });
  table([
    {
      name: "canary at zero: scaled up, waits for it",
      o: releasing({
        status: st(),
        target: { scaledUp: false, ready: true },
        route: { canaryWeight: 0 },
      }),
      phase: "Progressing",
      actions: ["scaleCanaryUp", "requeue(2000)"],
      status: { ...waitingFor("canaryReady"), currentStep: 0 },
      message: /Waiting for canary podinfo \(revision r2\) to become ready/,
    },
    {
      name: "canary not ready: waits",
      o: releasing({
        status: st(waitingFor("canaryReady")),
        target: { ready: false },
        route: { canaryWeight: 0 },
      }),
      at: 30 * S,
      phase: "Progressing",
      actions: ["requeue(2000)"],
      status: waitingFor("canaryReady"),
    },
    {
      name: "canary not ready past the progress deadline: rolled back",
      o: releasing({
        status: st(waitingFor("canaryReady")),
        target: { ready: false },
        route: { canaryWeight: 0 },
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ROLLED_BACK,
      status: { canaryWeight: 0 },
      ready: ["False", "ProgressDeadlineExceeded"],
      message: /canary podinfo not ready within 10m/,
    },
    {
      name: "the canary Deployment's own deadline: rolled back at once",
      o: releasing({
        status: st(),
        target: { ready: false, progressDeadlineExceeded: true },
        route: { canaryWeight: 0 },
      }),
      phase: "Failed",
      actions: ROLLED_BACK,
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "canary ready, weight 0 confirmed: step 1",
      o: releasing({ status: st(), route: { canaryWeight: 0 } }),
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: { currentStep: 1, iterations: 0, stepStartedAt: undefined },
      message: /Step 1\/2 \(weight 10 %\) for revision r2/,
    },
    {
      name: "restarted run: weight 0 first, confirmed, before step 1",
      o: releasing({ status: st() }),
      phase: "Progressing",
      actions: ["setTraffic(0)", "requeue(2000)"],
      status: { ...waitingFor("trafficVerified"), canaryWeight: 0 },
    },
    {
      name: "restarted run, weight 0 never confirmed: rolled back at the deadline",
      o: releasing({ status: st(waitingFor("trafficVerified")), requested: { canaryWeight: 0 } }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ROLLED_BACK,
      message: /proxies did not confirm weight 0 within 10m/,
    },
    {
      name: "skipAnalysis: promoted once the canary is ready",
      o: releasing({
        status: st(),
        spec: spec({ skipAnalysis: true }),
        route: { canaryWeight: 0 },
      }),
      phase: "Promoting",
      actions: ["event(Normal:Promoting)", "requeue(0)"],
    },
    {
      name: "pre-rollout configured: run before any traffic",
      o: releasing({ status: st(), spec: hooks("pre-rollout"), route: { canaryWeight: 0 } }),
      phase: "Progressing",
      actions: ["runWebhooks(pre-rollout)"],
    },
    {
      name: "pre-rollout passed: step 1",
      o: releasing({
        status: st(),
        spec: hooks("pre-rollout"),
        route: { canaryWeight: 0 },
        gates: { "pre-rollout": "open" },
      }),
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: { currentStep: 1 },
    },
    {
      name: "pre-rollout failed: a failed check, retried an interval later",
      o: releasing({
        status: st(),
        spec: hooks("pre-rollout"),
        route: { canaryWeight: 0 },
        gates: { "pre-rollout": "closed" },
      }),
      phase: "Progressing",
      actions: ["event(Warning:PreRolloutFailed)", "requeue(60000)"],
      status: { failedChecks: 1, lastAnalysisAt: at(0), currentStep: 0 },
    },
    {
      name: "pre-rollout failed before: not run again before the interval",
      o: releasing({
        status: st({ failedChecks: 1, lastAnalysisAt: at(0) }),
        spec: hooks("pre-rollout"),
        route: { canaryWeight: 0 },
      }),
      at: 20 * S,
      phase: "Progressing",
      actions: ["requeue(40000)"],
    },
    {
      name: "pre-rollout failing up to the threshold: rolled back",
      o: releasing({
        status: st({ failedChecks: 1, lastAnalysisAt: at(0) }),
        spec: hooks("pre-rollout"),
        route: { canaryWeight: 0 },
        gates: { "pre-rollout": "failed" },
      }),
      at: INTERVAL,
      phase: "Failed",
      actions: ["event(Warning:PreRolloutFailed)", ...ROLLED_BACK],
      status: { failedChecks: 2 },
      ready: ["False", "FailedChecks"],
    },
    {
      name: "pre-rollout passed, confirm-traffic-increase closed: pre-rollout not run again",
      o: releasing({
        status: st({ iterations: 1 }),
        spec: hooks("pre-rollout", "confirm-traffic-increase"),
        route: { canaryWeight: 0 },
        gates: { "confirm-traffic-increase": "closed" },
      }),
      phase: "Progressing",
      actions: ["requeue(60000)"],
      status: waitingFor("approval"),
      message: /raise the canary weight to 10 %/,
    },
  ]);
});

describe("plan: Progressing through the steps", () => {
  const STEPS = spec({ strategy: canary(w(10), pause(5 * MIN), w(40), pause()) });
  table([
    {
      name: "step entered: its weight requested, the clock not started",
      o: releasing({ status: running({ canaryWeight: 0 }), route: { canaryWeight: 0 } }),
      phase: "Progressing",
      actions: ["setTraffic(10)", "requeue(2000)"],
      status: {
        canaryWeight: 10,
        verifiedWeight: 0,
        stepStartedAt: undefined,
        ...waitingFor("trafficVerified"),
      },
      message: /Step 1\/2 \(weight 10 %\): waiting for every proxy to confirm weight 10 %/,
    },
    {
      name: "weight not yet confirmed by every proxy: waits",
      o: releasing({
        status: running(waitingFor("trafficVerified")),
        requested: { canaryWeight: 10 },
        verified: undefined,
      }),
      at: 10 * S,
      phase: "Progressing",
      actions: ["requeue(2000)"],
      status: { stepStartedAt: undefined, ...waitingFor("trafficVerified") },
    },
    {
      name: "weight never confirmed: rolled back at the progress deadline, naming who did not",
      o: releasing({
        status: running(waitingFor("trafficVerified")),
        requested: { canaryWeight: 10 },
        verified: { canaryWeight: 0 },
        waitingOn: "not yet ACKed by loadgen-7d9.demo (1 of 4 proxies)",
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", ...ROLLED_BACK],
      ready: ["False", "ProgressDeadlineExceeded"],
      message:
        /proxies did not confirm weight 10 % within 10m \(not yet ACKed by loadgen-7d9\.demo \(1 of 4 proxies\)\)/,
    },
    {
      name: "weight confirmed: the step's clock starts now, analysis due an interval later",
      o: releasing({ status: running(waitingFor("trafficVerified")) }),
      at: 3 * S,
      phase: "Progressing",
      actions: ["requeue(60000)"],
      status: { stepStartedAt: at(3 * S), verifiedWeight: 10, waitingFor: undefined },
      message: /0\/1 analyses passed, 0\/2 failed checks/,
    },
    {
      name: "an interval after: analysis asked for",
      o: releasing({ status: running({ stepStartedAt: at(0) }) }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["runAnalysis(r2@1)"],
    },
    {
      name: "analysis passed: next step",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: { at: T(INTERVAL), outcome: "pass", details: "success rate 100 %" },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: {
        currentStep: 2,
        iterations: 0,
        lastAnalysisAt: at(INTERVAL),
        stepStartedAt: undefined,
      },
    },
    {
      name: "analysis failed: counted, an event with the values, next analysis an interval later",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: { at: T(INTERVAL), outcome: "fail", details: "success rate 80 % < 99 %" },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["event(Warning:AnalysisFailed)", "requeue(60000)"],
      status: { failedChecks: 1, iterations: 0, lastAnalysisAt: at(INTERVAL), currentStep: 1 },
    },
    {
      name: "no data counts as a failed check",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: { at: T(INTERVAL), outcome: "noData", details: "no requests" },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["event(Warning:AnalysisFailed)", "requeue(60000)"],
      status: { failedChecks: 1 },
    },
    {
      name: "an error counts as a failed check",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: { at: T(INTERVAL), outcome: "error", details: "prometheus: connection refused" },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["event(Warning:AnalysisFailed)", "requeue(60000)"],
      status: { failedChecks: 1 },
    },
    {
      name: "failed checks reach the threshold: rolled back",
      o: releasing({
        status: running({ stepStartedAt: at(0), failedChecks: 1, lastAnalysisAt: at(INTERVAL) }),
        analysis: { at: T(2 * INTERVAL), outcome: "noData", details: "no requests" },
      }),
      at: 2 * INTERVAL,
      phase: "Failed",
      actions: ["setTraffic(0)", "event(Warning:AnalysisFailed)", ...ROLLED_BACK],
      status: { failedChecks: 2, canaryWeight: 0, currentStep: 1 },
      ready: ["False", "FailedChecks"],
      promoted: ["False", "Failed"],
      message: /2 failed checks reached the threshold of 2; last: no data: no requests/,
    },
    {
      name: "a result already counted is not counted again",
      o: releasing({
        status: running({ stepStartedAt: at(0), failedChecks: 1, lastAnalysisAt: at(INTERVAL) }),
        analysis: { at: T(INTERVAL), outcome: "fail", details: "" },
      }),
      at: INTERVAL + 10 * S,
      phase: "Progressing",
      actions: ["requeue(50000)"],
      status: { failedChecks: 1 },
    },
    {
      name: "a result from before the step's clock started is not counted",
      o: releasing({
        status: running({ stepStartedAt: at(MIN) }),
        analysis: { at: T(MIN - 1), outcome: "fail", details: "" },
      }),
      at: MIN + 10 * S,
      phase: "Progressing",
      actions: ["requeue(50000)"],
      status: { failedChecks: 0 },
    },
    {
      name: "canary no longer ready: the step waits, whatever analysis says",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        target: { ready: false },
        analysis: { at: T(INTERVAL), outcome: "pass", details: "" },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["requeue(2000)"],
      status: { iterations: 1, currentStep: 1, ...waitingFor("canaryReady", at(INTERVAL)) },
    },
    {
      name: "canary not ready again past the progress deadline: rolled back",
      o: releasing({
        status: running({ stepStartedAt: at(0), ...waitingFor("canaryReady") }),
        target: { ready: false },
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", ...ROLLED_BACK],
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "last step complete: promoted",
      o: releasing({
        status: running({ currentStep: 2, canaryWeight: 50, stepStartedAt: at(0), iterations: 1 }),
        route: { canaryWeight: 50 },
      }),
      phase: "Promoting",
      actions: ["event(Normal:Promoting)", "requeue(0)"],
      promoted: ["Unknown", "Promoting"],
    },
    {
      name: "outside a promotion window: a complete step waits",
      o: releasing({
        status: running({ stepStartedAt: at(0), iterations: 1, lastAnalysisAt: at(INTERVAL) }),
        inPromotionWindow: false,
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["requeue(59999)"],
      status: { currentStep: 1 },
      message: /Step 1\/2 \(weight 10 %\) complete; waiting for a promotion window/,
    },
    {
      name: "timed pause: waits out its duration, analysis still running",
      o: releasing({ spec: STEPS, status: running({ currentStep: 2, stepStartedAt: at(0) }) }),
      at: 30 * S,
      phase: "Progressing",
      actions: ["requeue(30000)"],
      message: /Step 2\/4 \(pause 5m\): 4m30s left/,
    },
    {
      name: "timed pause over: next step",
      o: releasing({
        spec: STEPS,
        status: running({ currentStep: 2, stepStartedAt: at(0), lastAnalysisAt: at(4.5 * MIN) }),
      }),
      at: 5 * MIN,
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: { currentStep: 3 },
    },
    {
      name: "a pause step's clock starts at once: its weight is already confirmed",
      o: releasing({ spec: STEPS, status: running({ currentStep: 2 }) }),
      at: 7 * S,
      phase: "Progressing",
      actions: ["requeue(60000)"],
      status: { stepStartedAt: at(7 * S), canaryWeight: 10 },
    },
    {
      name: "pause {}: Paused until promoted, with an alert",
      o: releasing({
        spec: STEPS,
        status: running({ currentStep: 4, canaryWeight: 40, stepStartedAt: at(0) }),
        route: { canaryWeight: 40 },
      }),
      phase: "Paused",
      actions: ["event(Normal:Paused)", "notify(warn:waitingApproval)", "requeue(0)"],
      status: { currentStep: 4 },
    },
    {
      name: "a pause at weight 0 is not analysed",
      o: releasing({
        spec: spec({ strategy: canary(pause(10 * MIN), w(10)) }),
        status: running({ canaryWeight: 0, stepStartedAt: at(0) }),
        route: { canaryWeight: 0 },
      }),
      at: 2 * INTERVAL,
      phase: "Progressing",
      actions: ["requeue(480000)"],
    },
  ]);
});

describe("plan: gates between steps and before promotion", () => {
  const complete = (overrides: Partial<RolloutStatus> = {}) =>
    running({ stepStartedAt: at(0), iterations: 1, lastAnalysisAt: at(INTERVAL), ...overrides });
  const last = complete({ currentStep: 2, canaryWeight: 50 });
  table([
    {
      name: "confirm-traffic-increase asked before raising the weight",
      o: releasing({ status: complete(), spec: hooks("confirm-traffic-increase") }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["runWebhooks(confirm-traffic-increase)"],
    },
    {
      name: "confirm-traffic-increase closed: the step holds, analysis goes on",
      o: releasing({
        status: complete(),
        spec: hooks("confirm-traffic-increase"),
        gates: { "confirm-traffic-increase": "closed" },
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["requeue(59999)"],
      status: { currentStep: 1, ...waitingFor("approval", at(INTERVAL + 1)) },
      message: /waiting for approval to raise the canary weight to 50 %/,
    },
    {
      name: "confirm-traffic-increase closed past its deadline: rolled back",
      o: releasing({
        status: complete({
          ...waitingFor("approval", at(INTERVAL)),
          lastAnalysisAt: at(2 * INTERVAL),
        }),
        spec: spec({ analysis: { webhooks: [webhook("confirm-traffic-increase", MIN)] } }),
        gates: { "confirm-traffic-increase": "closed" },
      }),
      at: INTERVAL + MIN + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", ...ROLLED_BACK],
      ready: ["False", "GateFailed"],
    },
    {
      name: "confirm-traffic-increase did not answer: a failed check, the step holds",
      o: releasing({
        status: complete(),
        spec: hooks("confirm-traffic-increase"),
        gates: { "confirm-traffic-increase": "failed" },
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["event(Warning:GateFailed)", "requeue(59999)"],
      status: { currentStep: 1, failedChecks: 1 },
    },
    {
      name: "confirm-traffic-increase did not answer at the threshold: rolled back",
      o: releasing({
        status: complete({ failedChecks: 1 }),
        spec: hooks("confirm-traffic-increase"),
        gates: { "confirm-traffic-increase": "failed" },
      }),
      at: INTERVAL + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", "event(Warning:GateFailed)", ...ROLLED_BACK],
    },
    {
      name: "confirm-traffic-increase open: next step",
      o: releasing({
        status: complete(),
        spec: hooks("confirm-traffic-increase"),
        gates: { "confirm-traffic-increase": "open" },
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
      status: { currentStep: 2 },
    },
    {
      name: "no confirm-traffic-increase before a pause",
      o: releasing({
        status: complete(),
        spec: spec({
          strategy: canary(w(10), pause(MIN)),
          analysis: { webhooks: [webhook("confirm-traffic-increase")] },
        }),
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["event(Normal:StepAdvanced)", "requeue(0)"],
    },
    {
      name: "confirm-promotion asked after the last step",
      o: releasing({ status: last, spec: hooks("confirm-promotion"), route: { canaryWeight: 50 } }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["runWebhooks(confirm-promotion)"],
    },
    {
      name: "confirm-promotion closed: WaitingPromotion, with an alert",
      o: releasing({
        status: last,
        spec: hooks("confirm-promotion"),
        route: { canaryWeight: 50 },
        gates: { "confirm-promotion": "closed" },
      }),
      at: INTERVAL + 1,
      phase: "WaitingPromotion",
      actions: ["event(Normal:WaitingPromotion)", "notify(warn:waitingApproval)", "requeue(0)"],
      promoted: ["Unknown", "WaitingPromotion"],
    },
    {
      name: "confirm-promotion did not answer: a failed check, asked again",
      o: releasing({
        status: last,
        spec: hooks("confirm-promotion"),
        route: { canaryWeight: 50 },
        gates: { "confirm-promotion": "failed" },
      }),
      at: INTERVAL + 1,
      phase: "Progressing",
      actions: ["event(Warning:GateFailed)", "requeue(60000)"],
      status: { failedChecks: 1 },
    },
    {
      name: "confirm-promotion did not answer at the threshold: rolled back",
      o: releasing({
        status: { ...last, failedChecks: 1 },
        spec: hooks("confirm-promotion"),
        route: { canaryWeight: 50 },
        gates: { "confirm-promotion": "failed" },
      }),
      at: INTERVAL + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", "event(Warning:GateFailed)", ...ROLLED_BACK],
    },
    {
      name: "analysis due: rollback webhooks polled with it",
      o: releasing({ status: running({ stepStartedAt: at(0) }), spec: hooks("rollback") }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["runAnalysis(r2@1)", "runWebhooks(rollback)"],
    },
    {
      name: "a rollback webhook fires: rolled back",
      o: releasing({
        status: running({ stepStartedAt: at(0) }),
        spec: hooks("rollback"),
        gates: { rollback: "open" },
      }),
      at: 10 * S,
      phase: "Failed",
      actions: ["setTraffic(0)", ...ROLLED_BACK],
      ready: ["False", "RollbackWebhook"],
    },
  ]);
});

describe("plan: a revision change mid-release", () => {
  table([
    {
      name: "new revision: the run restarts, failed checks forgotten, phase time kept",
      o: releasing({
        status: running({
          currentStep: 2,
          canaryWeight: 50,
          failedChecks: 1,
          stepStartedAt: at(0),
        }),
        target: { revision: "r3" },
        route: { canaryWeight: 50 },
      }),
      at: 5 * MIN,
      phase: "Progressing",
      actions: ["event(Normal:Restarted)", "notify(info:started)", "requeue(0)"],
      status: {
        canaryRevision: "r3",
        currentStep: 0,
        failedChecks: 0,
        iterations: 0,
        stepStartedAt: undefined,
        lastTransitionTime: at(0),
      },
      message: /New revision r3 of podinfo replaces r2: restarting the release/,
    },
    {
      name: "target reverted to what the primary runs: nothing to release",
      o: releasing({ target: { revision: "r1" } }),
      phase: "Initialized",
      actions: ["event(Normal:Reverted)", "requeue(0)"],
      promoted: ["True", "Initialized"],
    },
    {
      name: "then, at rest, the canary's traffic is taken back before it scales down",
      o: observed({
        status: status({ phase: "Initialized", canaryRevision: undefined }),
        target: { scaledUp: true },
        requested: { canaryWeight: 10 },
        verified: { canaryWeight: 10 },
      }),
      phase: "Initialized",
      actions: ["setTraffic(0)"],
    },
  ]);
});

describe("plan: A/B, blue/green and mirroring steps", () => {
  const ab = spec({ strategy: { kind: "abTesting", matches: HEADER_MATCH, iterations: 3 } });
  const bg = spec({ strategy: { kind: "blueGreen", iterations: 2 } });
  const mirror = spec({ strategy: { kind: "mirroring", mirrorPercent: 50, iterations: 2 } });
  table([
    {
      name: "A/B: matching requests to the canary, no weight",
      o: releasing({ spec: ab, status: running({ canaryWeight: 0 }), route: { canaryWeight: 0 } }),
      phase: "Progressing",
      actions: ["setTraffic(0+matches)", "requeue(2000)"],
      status: { canaryWeight: 0 },
      message: /Step 1\/1 \(weight 0 % \+ matching requests\)/,
    },
    {
      name: "A/B: holds for `iterations` passed analyses",
      o: releasing({
        spec: ab,
        status: running({
          canaryWeight: 0,
          stepStartedAt: at(0),
          iterations: 1,
          lastAnalysisAt: at(INTERVAL),
        }),
        route: { canaryWeight: 0, matches: HEADER_MATCH },
        analysis: { at: T(2 * INTERVAL), outcome: "pass", details: "" },
      }),
      at: 2 * INTERVAL,
      phase: "Progressing",
      actions: ["requeue(60000)"],
      status: { iterations: 2 },
    },
    {
      name: "A/B: promoted after the last",
      o: releasing({
        spec: ab,
        status: running({
          canaryWeight: 0,
          stepStartedAt: at(0),
          iterations: 2,
          lastAnalysisAt: at(2 * INTERVAL),
        }),
        route: { canaryWeight: 0, matches: HEADER_MATCH },
        analysis: { at: T(3 * INTERVAL), outcome: "pass", details: "" },
      }),
      at: 3 * INTERVAL,
      phase: "Promoting",
    },
    {
      name: "blue/green: analysed at 0 %",
      o: releasing({
        spec: bg,
        status: running({ canaryWeight: 0, stepStartedAt: at(0) }),
        route: { canaryWeight: 0 },
      }),
      at: INTERVAL,
      phase: "Progressing",
      actions: ["runAnalysis(r2@1)"],
    },
    {
      name: "mirroring: a share of the primary's requests copied to the canary",
      o: releasing({
        spec: mirror,
        status: running({ canaryWeight: 0 }),
        route: { canaryWeight: 0 },
      }),
      phase: "Progressing",
      actions: ["setTraffic(0+mirror50)", "requeue(2000)"],
    },
  ]);
});

describe("plan: WaitingPromotion", () => {
  const wp = (overrides: Partial<RolloutStatus> = {}) =>
    running({
      phase: "WaitingPromotion",
      currentStep: 2,
      canaryWeight: 50,
      verifiedWeight: 50,
      stepStartedAt: at(0),
      lastAnalysisAt: at(INTERVAL),
      iterations: 1,
      ...overrides,
    });
  const o = (overrides: Parameters<typeof releasing>[0] = {}) =>
    releasing({
      status: wp(),
      spec: hooks("confirm-promotion"),
      route: { canaryWeight: 50 },
      ...overrides,
    });
  table([
    {
      name: "asks confirm-promotion",
      o: o(),
      at: INTERVAL + 1,
      phase: "WaitingPromotion",
      actions: ["runWebhooks(confirm-promotion)"],
    },
    {
      name: "closed: waits, analysis going on",
      o: o({ gates: { "confirm-promotion": "closed" } }),
      at: INTERVAL + 1,
      phase: "WaitingPromotion",
      actions: ["requeue(59999)"],
      status: waitingFor("approval", at(INTERVAL + 1)),
    },
    {
      name: "analysis due first",
      o: o(),
      at: 2 * INTERVAL,
      phase: "WaitingPromotion",
      actions: ["runAnalysis(r2@2)"],
    },
    {
      name: "analysis failing to the threshold while waiting: rolled back (Flagger #1801)",
      o: o({
        status: wp({ failedChecks: 1 }),
        analysis: { at: T(2 * INTERVAL), outcome: "fail", details: "p99 900 ms > 500 ms" },
        gates: { "confirm-promotion": "closed" },
      }),
      at: 2 * INTERVAL,
      phase: "Failed",
      actions: ["setTraffic(0)", "event(Warning:AnalysisFailed)", ...ROLLED_BACK],
      ready: ["False", "FailedChecks"],
    },
    {
      name: "closed past the gate's deadline: rolled back instead of waiting forever (Flagger #1450)",
      o: o({
        spec: spec({ analysis: { webhooks: [webhook("confirm-promotion", 10 * MIN)] } }),
        status: wp({ ...waitingFor("approval", at(INTERVAL)), lastAnalysisAt: at(11 * MIN) }),
        gates: { "confirm-promotion": "closed" },
      }),
      at: INTERVAL + 10 * MIN + 1,
      phase: "Failed",
      ready: ["False", "GateFailed"],
    },
    {
      name: "open: Promoting",
      o: o({ gates: { "confirm-promotion": "open" } }),
      at: INTERVAL + 1,
      phase: "Promoting",
      actions: ["event(Normal:Promoting)", "requeue(0)"],
    },
    {
      name: "open outside a promotion window: waits for the window",
      o: o({ gates: { "confirm-promotion": "open" }, inPromotionWindow: false }),
      at: INTERVAL + 1,
      phase: "WaitingPromotion",
      actions: ["requeue(59999)"],
      message: /promotion approved, waiting for a promotion window/,
    },
    {
      name: "a new revision: the run restarts",
      o: o({ target: { revision: "r3" } }),
      phase: "Progressing",
      actions: ["event(Normal:Restarted)", "notify(info:started)", "requeue(0)"],
    },
  ]);
});

describe("plan: Paused", () => {
  const paused = (overrides: Partial<RolloutStatus> = {}) =>
    running({
      phase: "Paused",
      stepStartedAt: at(0),
      iterations: 1,
      lastAnalysisAt: at(INTERVAL),
      ...overrides,
    });
  table([
    {
      name: "holds a complete step: no advance, analysis going on",
      o: releasing({ status: paused() }),
      at: INTERVAL + 10 * S,
      phase: "Paused",
      actions: ["requeue(50000)"],
      status: { currentStep: 1 },
      message: /Paused at Step 1\/2 \(weight 10 %\): resume to continue/,
    },
    {
      name: "no deadline while paused, even waiting for proxies",
      o: releasing({ status: paused(waitingFor("trafficVerified")), verified: undefined }),
      at: 10 * DEADLINE,
      phase: "Paused",
      actions: [],
      status: { waitingFor: undefined },
    },
    {
      name: "analysis failing to the threshold while paused: rolled back",
      o: releasing({
        status: paused({ failedChecks: 1 }),
        analysis: { at: T(2 * INTERVAL), outcome: "fail", details: "" },
      }),
      at: 2 * INTERVAL,
      phase: "Failed",
      actions: ["setTraffic(0)", "event(Warning:AnalysisFailed)", ...ROLLED_BACK],
    },
    {
      name: "held by pause {}: says promote",
      o: releasing({
        spec: spec({ strategy: canary(w(10), pause()) }),
        status: paused({ currentStep: 2, iterations: 0 }),
      }),
      at: INTERVAL + 10 * S,
      phase: "Paused",
      message: /Paused at Step 2\/2 \(pause until promoted\): promote to continue/,
    },
    {
      name: "held by pause {}: no deadline, status.waitingFor says since when a human is awaited",
      o: releasing({
        spec: spec({ strategy: canary(w(10), pause()) }),
        status: paused({ currentStep: 2, iterations: 0 }),
      }),
      at: 10 * DEADLINE,
      phase: "Paused",
      status: waitingFor("approval", at(10 * DEADLINE)),
    },
    {
      name: "a new revision: the run restarts",
      o: releasing({ status: paused(), target: { revision: "r3" } }),
      phase: "Progressing",
      actions: ["event(Normal:Restarted)", "notify(info:started)", "requeue(0)"],
    },
  ]);
});

function T(offset: number): number {
  return Date.parse(at(offset));
}
