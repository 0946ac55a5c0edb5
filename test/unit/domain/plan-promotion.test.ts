// Table tests of promotion and after: Promoting (canary and blue/green), Finalising, Succeeded,
// and Failed converging to its route and scaling the canary down.
import type { RolloutStatus } from "../../../src/domain/rollout.js";
import {
  at,
  conditions,
  DEADLINE,
  observed,
  releasing,
  running,
  S,
  spec,
  status,
  table,
  webhook,
} from "./plan-fixtures.js";

const waitingFor = (reason: NonNullable<RolloutStatus["waitingFor"]>["reason"], since = at(0)) => ({
  waitingFor: { reason, since },
});

const ROLLED_BACK = ["event(Warning:RolledBack)", "notify(error:rolledBack)", "requeue(0)"];

const promoting = (overrides: Partial<RolloutStatus> = {}) =>
  running({
    phase: "Promoting",
    currentStep: 2,
    canaryWeight: 50,
    verifiedWeight: 50,
    stepStartedAt: at(0),
    iterations: 1,
    conditions: conditions(["True", "Promoting"], ["Unknown", "Promoting"]),
    ...overrides,
  });

describe("plan: Promoting", () => {
  const o = (overrides: Parameters<typeof releasing>[0] = {}) =>
    releasing({ status: promoting(), route: { canaryWeight: 50 }, ...overrides });
  table([
    {
      name: "all traffic to the canary first, the primary untouched",
      o: o(),
      phase: "Promoting",
      actions: ["setTraffic(100)", "requeue(2000)"],
      status: { canaryWeight: 100, route: { canaryWeight: 100 }, ...waitingFor("trafficVerified") },
      message: /^Switching all traffic to podinfo before promotion$/,
    },
    {
      name: "every proxy on the canary: the analysed revision is copied to the primary",
      o: o({ route: { canaryWeight: 100 } }),
      phase: "Promoting",
      actions: ["promote(r2)", "requeue(2000)"],
      status: { canaryWeight: 100, ...waitingFor("primaryReady") },
      message: /^Promoting revision r2 to podinfo-primary$/,
    },
    {
      name: "primary rolling out: waits, serving nobody",
      o: o({
        status: promoting({ canaryWeight: 100, ...waitingFor("primaryReady") }),
        primary: { revision: "r2", ready: false },
        route: { canaryWeight: 100 },
      }),
      at: 30 * S,
      phase: "Promoting",
      actions: ["requeue(2000)"],
      status: { canaryWeight: 100, ...waitingFor("primaryReady") },
    },
    {
      name: "primary not ready past the deadline: Failed, all traffic kept on the ready canary",
      o: o({
        status: promoting(waitingFor("primaryReady")),
        primary: { revision: "r2", ready: false },
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ["setTraffic(100)", ...ROLLED_BACK],
      status: { canaryWeight: 100 },
      ready: ["False", "ProgressDeadlineExceeded"],
      message:
        /podinfo-primary did not become ready with the new revision within 10m; traffic stays on the canary/,
    },
    {
      name: "the primary Deployment's own deadline: Failed at once",
      o: o({ primary: { revision: "r2", ready: false, progressDeadlineExceeded: true } }),
      phase: "Failed",
      status: { canaryWeight: 100 },
    },
    {
      name: "neither primary nor canary ready: Failed, traffic to the primary",
      o: o({
        primary: { revision: "r2", ready: false, progressDeadlineExceeded: true },
        target: { ready: false },
      }),
      phase: "Failed",
      status: { canaryWeight: 0 },
    },
    {
      name: "primary ready with the new revision: all traffic back to it",
      o: o({ status: promoting(waitingFor("primaryReady")), primary: { revision: "r2" } }),
      at: 20 * S,
      phase: "Promoting",
      actions: ["setTraffic(0)", "requeue(2000)"],
      status: { canaryWeight: 0, verifiedWeight: 50, ...waitingFor("trafficVerified", at(20 * S)) },
    },
    {
      name: "every proxy routes to the primary: Finalising",
      o: o({ primary: { revision: "r2" }, route: { canaryWeight: 0 } }),
      phase: "Finalising",
      actions: ["event(Normal:Finalising)", "requeue(0)"],
      promoted: ["Unknown", "Finalising"],
    },
    {
      name: "proxies never confirm: Ready False and one alert, nothing safer to do",
      o: o({
        status: promoting(waitingFor("trafficVerified")),
        primary: { revision: "r2" },
        requested: { canaryWeight: 0 },
        verified: { canaryWeight: 50 },
      }),
      at: DEADLINE + 1,
      phase: "Promoting",
      actions: [
        "event(Warning:ProgressDeadlineExceeded)",
        "notify(error:progressDeadlineExceeded)",
        "requeue(2000)",
      ],
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "target changed before the copy: the release restarts, nothing promoted",
      o: o({ target: { revision: "r3" } }),
      phase: "Progressing",
      actions: ["event(Normal:Restarted)", "notify(info:started)", "requeue(0)"],
      status: { canaryRevision: "r3" },
    },
    {
      name: "target changed after the copy: the promotion finishes first",
      o: o({
        target: { revision: "r3" },
        primary: { revision: "r2", ready: false },
        route: { canaryWeight: 100 },
      }),
      phase: "Promoting",
      actions: ["requeue(2000)"],
    },
    {
      name: "retrying a failed promotion: traffic stays on the canary until the primary is ready",
      o: o({
        status: promoting({ canaryWeight: 100 }),
        primary: { revision: "r2", ready: false },
        route: { canaryWeight: 100 },
      }),
      phase: "Promoting",
      actions: ["requeue(2000)"],
      status: { canaryWeight: 100 },
    },
  ]);
});

describe("plan: Promoting blue/green", () => {
  const bg = spec({ strategy: { kind: "blueGreen", iterations: 2 } });
  const o = (overrides: Parameters<typeof releasing>[0] = {}) =>
    releasing({
      spec: bg,
      status: promoting({ currentStep: 1, canaryWeight: 0 }),
      route: { canaryWeight: 0 },
      ...overrides,
    });
  table([
    {
      name: "everything to the canary first",
      o: o(),
      phase: "Promoting",
      actions: ["setTraffic(100)", "requeue(2000)"],
      status: { canaryWeight: 100, ...waitingFor("trafficVerified") },
      message: /Switching all traffic to podinfo before promotion/,
    },
    {
      name: "not before the canary is ready",
      o: o({ target: { ready: false } }),
      phase: "Promoting",
      actions: ["requeue(2000)"],
      status: { canaryWeight: 0, ...waitingFor("canaryReady") },
    },
    {
      name: "canary never ready for the switch: rolled back, primary untouched",
      o: o({
        status: promoting({ currentStep: 1, canaryWeight: 0, ...waitingFor("canaryReady") }),
        target: { ready: false },
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ROLLED_BACK,
      ready: ["False", "ProgressDeadlineExceeded"],
    },
    {
      name: "every proxy on the canary: the primary is updated, serving nobody",
      o: o({ route: { canaryWeight: 100 } }),
      phase: "Promoting",
      actions: ["promote(r2)", "requeue(2000)"],
      status: { canaryWeight: 100 },
    },
    {
      name: "the switch never confirmed: rolled back, primary untouched",
      o: o({
        status: promoting({ currentStep: 1, canaryWeight: 100, ...waitingFor("trafficVerified") }),
        requested: { canaryWeight: 100 },
        verified: { canaryWeight: 0 },
      }),
      at: DEADLINE + 1,
      phase: "Failed",
      actions: ["setTraffic(0)", ...ROLLED_BACK],
      status: { canaryWeight: 0 },
    },
    {
      name: "primary rolling out: traffic stays on the canary",
      o: o({ primary: { revision: "r2", ready: false }, route: { canaryWeight: 100 } }),
      phase: "Promoting",
      actions: ["requeue(2000)"],
      status: { canaryWeight: 100 },
    },
    {
      name: "primary ready: traffic back to it",
      o: o({ primary: { revision: "r2" }, route: { canaryWeight: 100 } }),
      phase: "Promoting",
      actions: ["setTraffic(0)", "requeue(2000)"],
    },
  ]);
});

describe("plan: Finalising and Succeeded", () => {
  const finalising = promoting({
    phase: "Finalising",
    canaryWeight: 0,
    verifiedWeight: 0,
    conditions: conditions(["True", "Finalising"], ["Unknown", "Finalising"]),
  });
  const o = (overrides: Parameters<typeof releasing>[0] = {}) =>
    releasing({
      status: finalising,
      primary: { revision: "r2" },
      route: { canaryWeight: 0 },
      ...overrides,
    });
  table([
    {
      name: "scales the canary down",
      o: o(),
      phase: "Finalising",
      actions: ["scaleCanaryDown", "requeue(2000)"],
    },
    {
      name: "not while a proxy may still send it requests",
      o: o({ requested: { canaryWeight: 50 }, verified: { canaryWeight: 50 } }),
      phase: "Finalising",
      actions: ["setTraffic(0)", "requeue(2000)"],
    },
    {
      name: "canary down: Succeeded, the primary's revision recorded",
      o: o({ target: { scaledUp: false } }),
      at: 30 * S,
      phase: "Succeeded",
      actions: ["event(Normal:Succeeded)", "notify(info:promoted)", "requeue(0)"],
      status: {
        primaryRevision: "r2",
        canaryRevision: "r2",
        stepStartedAt: undefined,
        lastTransitionTime: at(30 * S),
      },
      ready: ["True", "Succeeded"],
      promoted: ["True", "Succeeded"],
      message: /Release of podinfo revision r2 completed: promoted to podinfo-primary/,
    },
    {
      name: "post-rollout webhooks fired on success",
      o: o({
        target: { scaledUp: false },
        spec: spec({ analysis: { webhooks: [webhook("post-rollout")] } }),
      }),
      phase: "Succeeded",
      actions: [
        "event(Normal:Succeeded)",
        "notify(info:promoted)",
        "runWebhooks(post-rollout)",
        "requeue(0)",
      ],
    },
  ]);
});

describe("plan: Failed", () => {
  const failed = (overrides: Partial<RolloutStatus> = {}) =>
    running({
      phase: "Failed",
      canaryWeight: 0,
      failedChecks: 2,
      message: "Rolled back podinfo revision r2: 2 failed checks reached the threshold of 2",
      conditions: conditions(
        [
          "False",
          "FailedChecks",
          "Rolled back podinfo revision r2: 2 failed checks reached the threshold of 2",
        ],
        ["False", "Failed"],
        at(-60 * S),
      ),
      ...overrides,
    });
  table([
    {
      name: "rolled back: traffic to the primary first, the canary kept up meanwhile",
      o: releasing({ status: failed(), route: { canaryWeight: 30 } }),
      phase: "Failed",
      actions: ["setTraffic(0)", "requeue(2000)"],
      status: { canaryWeight: 0, verifiedWeight: 30 },
      ready: ["False", "FailedChecks"],
      message: /2 failed checks reached the threshold of 2; waiting for every proxy to confirm/,
    },
    {
      name: "every proxy on the primary: the canary scales down",
      o: releasing({ status: failed(), route: { canaryWeight: 0 } }),
      phase: "Failed",
      actions: ["scaleCanaryDown"],
    },
    {
      name: "at rest: nothing to do, the Ready reason and its time kept",
      o: releasing({ status: failed(), route: { canaryWeight: 0 }, target: { scaledUp: false } }),
      at: 60 * S,
      phase: "Failed",
      actions: [],
      status: { lastTransitionTime: at(0) },
      ready: ["False", "FailedChecks"],
      promoted: ["False", "Failed"],
    },
    {
      name: "after a failed promotion: traffic stays on the canary, which stays up",
      o: releasing({ status: failed({ canaryWeight: 100 }), route: { canaryWeight: 100 } }),
      phase: "Failed",
      actions: [],
      status: { canaryWeight: 100 },
    },
    {
      name: "a new revision: a new release",
      o: releasing({ status: failed(), route: { canaryWeight: 0 }, target: { revision: "r3" } }),
      phase: "Progressing",
      actions: ["event(Normal:NewRevision)", "notify(info:started)", "requeue(0)"],
      status: { canaryRevision: "r3", failedChecks: 0 },
      ready: ["True", "Progressing"],
    },
    {
      name: "the target reverted to the primary's revision: at rest, nothing to release",
      o: releasing({ status: failed(), route: { canaryWeight: 0 }, target: { revision: "r1" } }),
      phase: "Initialized",
      actions: ["event(Normal:Reverted)", "requeue(0)"],
      ready: ["True", "Initialized"],
      promoted: ["True", "Initialized"],
    },
    {
      name: "rollbacks fire post-rollout webhooks too",
      o: releasing({
        spec: spec({ analysis: { webhooks: [webhook("post-rollout")] } }),
        manual: { action: "abort", id: "a-1" },
      }),
      phase: "Failed",
      actions: [
        "event(Normal:ManualAction)",
        "event(Warning:RolledBack)",
        "notify(error:rolledBack)",
        "runWebhooks(post-rollout)",
        "requeue(0)",
      ],
      ready: ["False", "Aborted"],
    },
    {
      name: "a Failed status written by a controller that died before routing: routed now",
      o: observed({
        status: status({
          phase: "Failed",
          canaryRevision: "r2",
          canaryWeight: 0,
          conditions: conditions(["False", "Aborted"], ["False", "Failed"]),
        }),
        target: { revision: "r2", scaledUp: true },
        route: { canaryWeight: 40 },
      }),
      phase: "Failed",
      actions: ["setTraffic(0)", "requeue(2000)"],
      ready: ["False", "Aborted"],
    },
  ]);
});
