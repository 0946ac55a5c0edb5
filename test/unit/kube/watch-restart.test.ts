import assert from "node:assert/strict";
import type { V1Service } from "@kubernetes/client-node";
import { CoreV1Api, makeInformer } from "@kubernetes/client-node";
import { FakeClock, systemClock } from "../../../src/common/clock.js";
import { restartOnError } from "../../../src/kube/watch-restart.js";
import type { LoopbackApiServer } from "./loopback-apiserver.js";
import { json, startLoopbackApiServer, until } from "./loopback-apiserver.js";
import { recordingLog } from "./recording-log.js";

const FAST = { initialDelayMs: 5, maxDelayMs: 20 };

const service = (name: string): V1Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "demo", resourceVersion: "11" },
});

describe("restartOnError with a real informer", () => {
  let server: LoopbackApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("restarts an informer whose first lists fail, with growing back-off, until it lists and watches", async () => {
    let lists = 0;
    server = await startLoopbackApiServer((req, res) => {
      if (req.url?.includes("watch=true") === true) {
        // A watch that stays open and reports one new Service.
        res.writeHead(200, { "content-type": "application/json" });
        res.write(`${JSON.stringify({ type: "ADDED", object: service("api") })}\n`);
        return;
      }
      lists++;
      if (lists <= 3) json(res, 500, { kind: "Status", message: "etcdserver: request timed out" });
      else
        json(res, 200, {
          kind: "ServiceList",
          metadata: { resourceVersion: "10" },
          items: [service("web")],
        });
    });
    const core = server.kc.makeApiClient(CoreV1Api);
    const inf = makeInformer(server.kc, "/api/v1/services", () =>
      core.listServiceForAllNamespaces(),
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
    await inf.start(); // the first list fails: start() resolves, the informer reports an error
    await until(() => inf.list().length === 2, 5000, "both Services in the cache");
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
    active = false;
    restart.cancel();
    await inf.stop();
  });

  it("does not restart once its owner stopped (the abort is not a failure)", async () => {
    server = await startLoopbackApiServer((_req, res) => {
      json(res, 500, { kind: "Status", message: "down" });
    });
    const core = server.kc.makeApiClient(CoreV1Api);
    const inf = makeInformer(server.kc, "/api/v1/services", () =>
      core.listServiceForAllNamespaces(),
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
    await counted.start();
    await until(() => failures.length === 1, 5000, "the first failure");
    assert.equal(clock.pending, 1);
    active = false; // stopped during the back-off: the timer fires and does nothing
    await clock.advance(1000);
    assert.equal(starts, 1);
    assert.equal(clock.pending, 0);
    assert.equal(failures.length, 1);
    await inf.stop();
  });
});
