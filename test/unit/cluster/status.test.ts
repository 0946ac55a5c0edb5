import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import type { ContainerRecord, PodView } from "../../cluster/node-agent/status.js";
import {
  computePodStatus,
  podPhase,
  restartDelayMs,
  shouldRestart,
} from "../../cluster/node-agent/status.js";

const pod: V1Pod = { metadata: { name: "p", namespace: "n", uid: "u1" }, spec: { containers: [] } };

function view(containers: ContainerRecord[], extra: Partial<PodView> = {}): PodView {
  return {
    pod,
    podIP: "10.244.0.7",
    hostIP: "10.244.0.1",
    startTime: 1000,
    sandboxReady: true,
    containers,
    finished: false,
    ...extra,
  };
}

const running = (name: string, ready: boolean): ContainerRecord => ({
  name,
  image: "vireo/echo",
  state: { kind: "running", startedAt: 2000 },
  restartCount: 0,
  ready,
  started: true,
});

const exited = (name: string, exitCode: number): ContainerRecord => ({
  name,
  image: "busybox",
  state: {
    kind: "terminated",
    exitCode,
    reason: exitCode === 0 ? "Completed" : "Error",
    startedAt: 1,
    finishedAt: 2,
  },
  restartCount: 0,
  ready: false,
  started: false,
});

describe("node agent pod status", () => {
  it("derives the phase", () => {
    assert.equal(podPhase(view([])), "Pending");
    assert.equal(podPhase(view([running("a", true)], { sandboxReady: false })), "Pending");
    assert.equal(
      podPhase(
        view([
          running("a", true),
          { ...running("b", false), state: { kind: "waiting", reason: "ContainerCreating" } },
        ]),
      ),
      "Pending",
    );
    assert.equal(podPhase(view([running("a", false)])), "Running");
    assert.equal(podPhase(view([exited("a", 0)], { finished: true })), "Succeeded");
    assert.equal(podPhase(view([exited("a", 0), exited("b", 2)], { finished: true })), "Failed");
  });

  it("counts a container in back-off after a crash as having run", () => {
    const crashing: ContainerRecord = {
      ...running("a", false),
      state: { kind: "waiting", reason: "CrashLoopBackOff" },
      lastTerminated: {
        kind: "terminated",
        exitCode: 1,
        reason: "Error",
        startedAt: 1,
        finishedAt: 2,
      },
      restartCount: 1,
    };
    assert.equal(podPhase(view([crashing])), "Running");
  });

  it("is Ready only when every container is ready, with IPs and container states", () => {
    const s = computePodStatus(view([running("a", true), running("b", false)]), 5000);
    const ready = s.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready.reason, "ContainersNotReady");
    assert.equal(s.podIP, "10.244.0.7");
    assert.deepEqual(s.podIPs, [{ ip: "10.244.0.7" }]);
    assert.deepEqual(s.containerStatuses?.[0]?.state, { running: { startedAt: new Date(2000) } });
    const all = computePodStatus(view([running("a", true)]), 5000);
    assert.equal(all.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  it("keeps a condition's transition time while its status holds", () => {
    const first = computePodStatus(view([running("a", true)]), 5000);
    const withPrev: V1Pod = { metadata: pod.metadata, spec: pod.spec, status: first };
    const second = computePodStatus(view([running("a", true)], { pod: withPrev }), 9000);
    const t = (s: typeof first): Date | undefined =>
      s.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime;
    assert.deepEqual(t(second), new Date(5000));
    const third = computePodStatus(view([running("a", false)], { pod: withPrev }), 9000);
    assert.deepEqual(t(third), new Date(9000));
  });

  it("backs off 10s, 20s, 40s ... up to 5 minutes", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, 10_000, 300_000)),
      [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000],
    );
  });

  it("restarts by policy", () => {
    assert.equal(shouldRestart(undefined, 0), true);
    assert.equal(shouldRestart("Always", 0), true);
    assert.equal(shouldRestart("OnFailure", 0), false);
    assert.equal(shouldRestart("OnFailure", 1), true);
    assert.equal(shouldRestart("Never", 1), false);
  });
});
