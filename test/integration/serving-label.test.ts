// The leader's serving label against the real kube-apiserver, with faults injected in front of it:
// until the label is on, the xDS Service has no endpoint and every proxy is refused, so a patch
// the API server never answers, or one it refuses, must be retried until the label lands.
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import { markServing, SERVING_LABEL } from "../../src/kube/serving-label.js";
import { recordingLog } from "../support/recording-log.js";
import { useApiFaultProxy } from "./api-fault-proxy.js";
import { cluster, standInPod, useNamespace } from "./harness.js";

const FAST = {
  policy: { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 },
  attemptMs: 1_000,
};

describe("the xDS serving label, faults injected in front of the real API server", function () {
  this.timeout(60_000);
  const ns = useNamespace("serving-label");
  const faultProxy = useApiFaultProxy();

  /** A stand-in for a replica's own pod, named per test (the namespace is the suite's). */
  async function replica(name: string): Promise<{ namespace: string; name: string }> {
    await standInPod(ns(), name);
    return { namespace: ns(), name };
  }

  async function label(pod: { namespace: string; name: string }): Promise<string | undefined> {
    const p = await cluster().core.readNamespacedPod(pod);
    return p.metadata?.labels?.[SERVING_LABEL];
  }

  it("lands after a patch that hangs and one refused; says how long it took", async () => {
    const proxy = faultProxy();
    let patches = 0;
    proxy.fault = (req) => {
      if (req.method !== "PATCH") return undefined;
      patches++;
      if (patches === 1) return { kind: "hang" };
      if (patches === 2) return { kind: "status", code: 500, message: "etcdserver: timeout" };
      return undefined;
    };
    const log = recordingLog();
    const counted: string[] = [];
    const core = proxy.kc.makeApiClient(CoreV1Api);
    const pod = await replica("hangs-then-lands");
    const ok = await markServing(
      core,
      pod,
      true,
      { clock: systemClock, log, failures: { inc: (l) => counted.push(l.outcome) } },
      undefined,
      FAST,
    );
    assert.equal(ok, true);
    assert.equal(await label(pod), "true");
    assert.equal(patches, 3);
    assert.deepEqual(counted, ["retried", "retried"]);
    const warned = log.lines.filter((l) => l.level === "warn").map((l) => String(l.fields.error));
    assert.match(warned[0] ?? "", /no answer from the API server within 1000 ms/);
    assert.match(warned[1] ?? "", /500/);
    const done = log.lines.find((l) => l.message === "labelled this pod as the xDS server");
    assert.ok(done !== undefined, JSON.stringify(log.lines));
    assert.ok(Number(done.fields.tookMs) >= 1_000, `tookMs ${String(done.fields.tookMs)}`);

    // Stepping down removes it (one attempt when the controller is stopping).
    const stopping = new AbortController();
    stopping.abort();
    const removed = await markServing(
      core,
      pod,
      false,
      { clock: systemClock, log, failures: { inc: () => undefined } },
      stopping.signal,
      FAST,
    );
    assert.equal(removed, true);
    assert.equal(await label(pod), undefined);
  });

  it("gives up when stopping: one attempt, logged as an error, never a rejection", async () => {
    const proxy = faultProxy();
    proxy.fault = (req) => (req.method === "PATCH" ? { kind: "hang" } : undefined);
    const log = recordingLog();
    const stopping = new AbortController();
    stopping.abort();
    const pod = await replica("gives-up");
    const ok = await markServing(
      proxy.kc.makeApiClient(CoreV1Api),
      pod,
      true,
      { clock: systemClock, log, failures: { inc: () => undefined } },
      stopping.signal,
      FAST,
    );
    assert.equal(ok, false);
    assert.equal(await label(pod), undefined);
    assert.deepEqual(
      log.lines.map((l) => [l.level, l.message]),
      [["error", "Kubernetes API call failed, giving up"]],
    );
  });
});
