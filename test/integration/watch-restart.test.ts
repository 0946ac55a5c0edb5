// restartOnError with a real informer on the real API server: our fault injector fails its first
// lists with 500, the API server answers the rest, and a Service created while it watches arrives.
import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, makeInformer } from "@kubernetes/client-node";
import { FakeClock, systemClock } from "../../src/common/clock.js";
import { restartOnError } from "../../src/kube/watch-restart.js";
import { recordingLog } from "../support/recording-log.js";
import type { ApiFaultProxy } from "./api-fault-proxy.js";
import { isWatch, startApiFaultProxy } from "./api-fault-proxy.js";
import { cluster, eventually, useNamespace } from "./harness.js";

const FAST = { initialDelayMs: 5, maxDelayMs: 20 };

describe("restartOnError with a real informer on the real API server", function () {
  this.timeout(60_000);
  const ns = useNamespace("watch-restart");
  let proxy: ApiFaultProxy | undefined;

  beforeEach(async () => {
    proxy = await startApiFaultProxy();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const service = (name: string) => ({
    metadata: { name },
    spec: { ports: [{ port: 80 }], selector: { app: name } },
  });

  it("restarts an informer whose first lists fail, with growing back-off, until it lists and watches", async () => {
    const p = proxy ?? assert.fail("no proxy");
    await cluster().core.createNamespacedService({ namespace: ns(), body: service("web") });
    let lists = 0;
    p.fault = (r) => {
      if (isWatch(r)) return undefined;
      lists++;
      return lists <= 3
        ? { kind: "status", code: 500, message: "etcdserver: request timed out" }
        : undefined;
    };
    const core = p.kc.makeApiClient(CoreV1Api);
    const inf = makeInformer(p.kc, `/api/v1/namespaces/${ns()}/services`, () =>
      core.listNamespacedService({ namespace: ns() }),
    );
    const log = recordingLog();
    const counted: string[] = [];
    let active = true;
    const restart = restartOnError(
      inf,
      "services",
      {
        clock: systemClock,
        log,
        failures: { inc: (l) => counted.push(`${l.operation}:${l.outcome}`) },
        active: () => active,
      },
      FAST,
    );
    try {
      await inf.start(); // the first list fails: start() resolves, the informer reports an error
      await eventually("the Service listed after the failures", () =>
        inf.list().some((s) => s.metadata?.name === "web") ? true : undefined,
      );
      // Listed and watching: a Service created now arrives through the watch.
      await eventually("the watch to be open", () => (p.requests.some(isWatch) ? true : undefined));
      await cluster().core.createNamespacedService({ namespace: ns(), body: service("api") });
      await eventually("the new Service through the watch", () =>
        inf.list().length === 2 ? true : undefined,
      );
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata?.name)
          .sort(),
        ["api", "web"],
      );
      assert.equal(lists, 4);
      assert.deepEqual(counted, [
        "watch services:retried",
        "watch services:retried",
        "watch services:retried",
      ]);
      assert.deepEqual(
        log.lines.map((l) => [l.level, l.message, l.fields.retryInMs]),
        [
          ["warn", "watch failed, restarting", 5],
          ["warn", "watch failed, restarting", 10],
          ["warn", "watch failed, restarting", 20],
        ],
      );
    } finally {
      active = false;
      restart.cancel();
      await inf.stop();
    }
  });

  it("says once that a resource type is not served (its CRD not installed), without the client's dump", async () => {
    const { kc } = cluster();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const plural = "nosuchthings";
    const inf = makeInformer(kc, `/apis/vireo.dev/v1alpha1/namespaces/${ns()}/${plural}`, () =>
      custom.listNamespacedCustomObject({
        group: "vireo.dev",
        version: "v1alpha1",
        namespace: ns(),
        plural,
      }),
    );
    const log = recordingLog();
    let failures = 0;
    let active = true;
    const restart = restartOnError(
      inf,
      plural,
      {
        clock: systemClock,
        log,
        failures: { inc: () => failures++ },
        active: () => active,
      },
      FAST,
    );
    try {
      await inf.start();
      await eventually("four refused lists", () => (failures >= 4 ? true : undefined));
      const warned = log.lines.filter((l) => l.level === "warn");
      assert.equal(warned.length, 1, JSON.stringify(log.lines));
      assert.match(warned[0]?.message ?? "", /does not serve this resource/);
      // The API server's answer in a few words, never the headers of the response.
      const error = String(warned[0]?.fields.error);
      assert.ok(error.length < 80 && !error.includes("audit-id"), error);
      assert.ok(log.lines.filter((l) => l.level === "debug").length >= 3);
    } finally {
      active = false;
      restart.cancel();
      await inf.stop();
    }
  });

  it("does not restart once its owner stopped (the abort is not a failure)", async () => {
    const p = proxy ?? assert.fail("no proxy");
    p.fault = () => ({ kind: "status", code: 500, message: "down" });
    const core = p.kc.makeApiClient(CoreV1Api);
    const inf = makeInformer(p.kc, `/api/v1/namespaces/${ns()}/services`, () =>
      core.listNamespacedService({ namespace: ns() }),
    );
    // The real informer, with its restarts counted.
    let starts = 0;
    const counted = {
      start: () => {
        starts++;
        return inf.start();
      },
      on: (verb: "error", cb: (err?: unknown) => void) => {
        inf.on(verb, cb);
      },
    };
    const clock = new FakeClock();
    const failures: string[] = [];
    let active = true;
    restartOnError(
      counted,
      "services",
      {
        clock,
        log: recordingLog(),
        failures: { inc: (l) => failures.push(l.outcome) },
        active: () => active,
      },
      { initialDelayMs: 1000, maxDelayMs: 1000 },
    );
    try {
      await counted.start();
      await eventually("the first failure", () => (failures.length === 1 ? true : undefined));
      assert.equal(clock.pending, 1);
      active = false; // stopped during the back-off: the timer fires and does nothing
      await clock.advance(1000);
      assert.equal(starts, 1);
      assert.equal(clock.pending, 0);
      assert.equal(failures.length, 1);
    } finally {
      await inf.stop();
    }
  });
});
