import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import type { ContainerRecord, PodView } from "../../cluster/node-agent/status.js";
import { computePodStatus, podPhase, restartDelayMs } from "../../cluster/node-agent/status.js";

const pod: V1Pod = { metadata: { name: "p", namespace: "n", uid: "u1" }, spec: { containers: [] } };

function view(containers: ContainerRecord[], extra: Partial<PodView> = {}): PodView {
  return {
    pod,
    podIP: "10.244.0.7",
    hostIP: "10.244.0.1",
    startTime: 1000,
    sandboxReady: true,
    containers,
    initContainers: [],
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

  describe("with init containers and sidecars", () => {
    const waiting = (name: string, sidecar = false): ContainerRecord => ({
      ...running(name, false),
      state: { kind: "waiting", reason: "PodInitializing" },
      started: false,
      ...(sidecar ? { sidecar: true } : {}),
    });
    const proxy = (started: boolean, ready: boolean): ContainerRecord => ({
      ...running("proxy", ready),
      started,
      sidecar: true,
    });
    const withPolicy = (restartPolicy: string): V1Pod => ({
      ...pod,
      spec: { containers: [], restartPolicy },
    });
    const cond = (s: ReturnType<typeof computePodStatus>, type: string) =>
      s.conditions?.find((c) => c.type === type);

    const phases: [string, Partial<PodView>, string][] = [
      [
        "a regular init container running",
        { initContainers: [running("init", false)], containers: [waiting("app")] },
        "Pending",
      ],
      [
        "a sidecar not yet started",
        {
          initContainers: [exited("init", 0), proxy(false, false)],
          containers: [waiting("app")],
        },
        "Pending",
      ],
      [
        "initialized, the app running",
        {
          initContainers: [exited("init", 0), proxy(true, true)],
          containers: [running("app", true)],
        },
        "Running",
      ],
      [
        "an init container failed under Never",
        {
          pod: withPolicy("Never"),
          initContainers: [exited("init", 1)],
          containers: [waiting("app")],
        },
        "Failed",
      ],
      [
        "an init container failed under Always (in back-off)",
        {
          initContainers: [
            {
              ...waiting("init"),
              state: { kind: "waiting", reason: "CrashLoopBackOff" },
              lastTerminated: {
                kind: "terminated",
                exitCode: 1,
                reason: "Error",
                startedAt: 1,
                finishedAt: 2,
              },
            },
          ],
          containers: [waiting("app")],
        },
        "Pending",
      ],
      [
        "a Job's app done, its sidecar still running",
        {
          pod: withPolicy("Never"),
          initContainers: [proxy(true, true)],
          containers: [exited("job", 0)],
        },
        "Running",
      ],
      [
        "a Job's app done, its sidecar stopped (143 ignored)",
        {
          pod: withPolicy("Never"),
          initContainers: [{ ...exited("proxy", 143), sidecar: true }],
          containers: [exited("job", 0)],
        },
        "Succeeded",
      ],
      [
        "a restarting sidecar after the app ran does not make the pod Pending",
        {
          initContainers: [
            {
              ...proxy(false, false),
              state: { kind: "waiting", reason: "CrashLoopBackOff" },
              lastTerminated: {
                kind: "terminated",
                exitCode: 1,
                reason: "Error",
                startedAt: 1,
                finishedAt: 2,
              },
            },
          ],
          containers: [running("app", true)],
        },
        "Running",
      ],
    ];
    for (const [name, extra, want] of phases) {
      it(`phase: ${name} -> ${want}`, () => {
        assert.equal(podPhase(view([], extra)), want);
      });
    }

    it("reports initContainerStatuses in spec order and Initialized with the incomplete ones", () => {
      const s = computePodStatus(
        view([waiting("app")], {
          initContainers: [running("init", false), waiting("proxy", true)],
        }),
        5000,
      );
      assert.deepEqual(
        s.initContainerStatuses?.map((c) => [c.name, Object.keys(c.state ?? {})[0]]),
        [
          ["init", "running"],
          ["proxy", "waiting"],
        ],
      );
      assert.equal(s.containerStatuses?.[0]?.state?.waiting?.reason, "PodInitializing");
      const init = cond(s, "Initialized");
      assert.equal(init?.status, "False");
      assert.equal(init.reason, "ContainersNotInitialized");
      assert.equal(init.message, "containers with incomplete status: [init proxy]");
    });

    it("is initialized once regular init containers completed and sidecars started", () => {
      const s = computePodStatus(
        view([waiting("app")], { initContainers: [exited("init", 0), proxy(true, false)] }),
        5000,
      );
      assert.equal(cond(s, "Initialized")?.status, "True");
    });

    it("counts a sidecar's readiness toward the pod's", () => {
      const notReady = computePodStatus(
        view([running("app", true)], { initContainers: [exited("init", 0), proxy(true, false)] }),
        5000,
      );
      assert.equal(cond(notReady, "Ready")?.status, "False");
      assert.equal(cond(notReady, "Ready")?.message, "containers with unready status: [proxy]");
      const ready = computePodStatus(
        view([running("app", true)], { initContainers: [exited("init", 0), proxy(true, true)] }),
        5000,
      );
      assert.equal(cond(ready, "Ready")?.status, "True");
      assert.equal(cond(ready, "ContainersReady")?.status, "True");
    });

    it("omits initContainerStatuses for a pod without init containers", () => {
      const s = computePodStatus(view([running("a", true)]), 5000);
      assert.equal("initContainerStatuses" in s, false);
    });
  });
});
