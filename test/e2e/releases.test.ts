// Whole releases as a user runs them: vireo installed with its Helm chart (the controller runs as
// a pod), the example app with proxy sidecars and constant load from examples/demo, releases
// driven by changing the Deployment and by the vireo CLI. Every release is checked from the
// users' side: the load generators' own count of failed requests and of the versions answering.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { Installed, Status } from "./e2e.js";
import {
  alerts,
  apply,
  controllerPod,
  example,
  freezeApiServer,
  GREETER,
  install,
  kubectl,
  killController,
  LoadWindow,
  loadSeconds,
  NS,
  PODINFO,
  release,
  RELEASE,
  SYSTEM_NS,
  until,
  vireo,
  xdsServing,
} from "./e2e.js";
import { cluster, eventually, podLogPath, prometheusURL } from "../integration/harness.js";

const LOADGENS = ["loadgen", "loadgen-insider"];
const log = (line: string): void => {
  process.stdout.write(`      ${line}\n`);
};

/** Releases `version` and follows it to Succeeded or Failed, recording each confirmed weight. */
async function follow(
  version: string,
  target = PODINFO,
): Promise<{ last: Status; verified: number[] }> {
  const rollout = target.deployment;
  await release(version, target);
  await until(
    `${version} to start`,
    (s) => s.phase === "Progressing" || s.phase === "Promoting",
    240_000,
    rollout,
  );
  const verified: number[] = [];
  const last = await until(
    `${version} to finish`,
    (s) => {
      const w = s.verifiedWeight ?? 0;
      if (verified.at(-1) !== w) verified.push(w);
      return s.phase === "Succeeded" || s.phase === "Failed";
    },
    240_000,
    rollout,
  );
  return { last, verified };
}

async function noFailures(window: LoadWindow, what: string): Promise<void> {
  for (const app of LOADGENS) {
    const t = await window.totals(app);
    assert.ok(t.sent > 20, `${app} sent only ${String(t.sent)} requests during ${what}`);
    assert.equal(t.failed, 0, `${app}: ${String(t.failed)} of ${String(t.sent)} failed (${what})`);
    log(`${app}: ${String(t.sent)} requests during ${what}, none failed`);
  }
}

/** The versions that answered in the load generator's last few seconds. */
async function answering(window: LoadWindow, app = "loadgen"): Promise<string[]> {
  const last = (await window.seconds(app)).slice(-3);
  return [...new Set(last.flatMap((s) => Object.keys(s.versions)))].sort();
}

async function settledOn(version: string, app = "loadgen"): Promise<void> {
  const window = await LoadWindow.open([app]);
  await eventually(`only ${version} answering ${app}`, async () => {
    const v = await answering(window, app);
    return v.length === 1 && v[0] === version && (await window.seconds(app)).length >= 3
      ? true
      : undefined;
  });
}

/** Prometheus's answer to an instant query, one number per series keyed by `by` labels. */
async function promSeries(query: string, by: readonly string[]): Promise<Record<string, number>> {
  const res = (await (
    await fetch(`${prometheusURL}/api/v1/query?query=${encodeURIComponent(query)}`)
  ).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return Object.fromEntries(
    res.data.result.map((r) => [by.map((l) => r.metric[l] ?? "").join("/"), Number(r.value[1])]),
  );
}

/** What a one-off client pod counted: calls sent and failed, and calls answered per version. */
interface Burst {
  readonly sent: number;
  readonly failed: number;
  readonly versions: Readonly<Record<string, number>>;
}

/**
 * Runs a client pod to completion in the suite's namespace (injected like every pod there) and
 * adds up its per-second lines. `app` labels the pod; its container is named by LOAD_CONTAINER.
 */
async function burst(app: string, sa: string, container: V1Container): Promise<Burst> {
  // A new name each run: the local cluster keeps a pod's log under its namespace and name.
  const name = `${app}-${Date.now().toString(36)}`;
  await cluster().core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name, labels: { app } },
      spec: { restartPolicy: "Never", serviceAccountName: sa, containers: [container] },
    },
  });
  const phase = await eventually(
    `${app} to finish`,
    async () => {
      const p = await cluster().core.readNamespacedPod({ namespace: NS, name });
      const ph = p.status?.phase;
      return ph === "Succeeded" || ph === "Failed" ? ph : undefined;
    },
    180_000,
  );
  const seconds = await loadSeconds(app);
  await cluster().core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
  assert.equal(phase, "Succeeded", `${app} ended ${phase}`);
  const versions: Record<string, number> = {};
  for (const x of seconds)
    for (const [v, n] of Object.entries(x.versions)) versions[v] = (versions[v] ?? 0) + n;
  return {
    sent: seconds.reduce((n, x) => n + x.sent, 0),
    failed: seconds.reduce((n, x) => n + x.failed, 0),
    versions,
  };
}

/** A Rollout manifest whose steps are replaced by "10 %, then wait for a promotion". */
async function pausedAtTen(file: string): Promise<string> {
  const text = await example(file);
  const steps = /( +)- setWeight: 10\n(?:\1- setWeight: \d+\n)+/;
  assert.match(text, steps, file);
  return text.replace(steps, "$1- setWeight: 10\n$1- pause: {}\n");
}

/** Asserts the canary's share of a burst is 10 % within 3 points, with no failed call. */
function assertTenPercent(what: string, b: Burst, canary: string): void {
  const answered = Object.values(b.versions).reduce((n, x) => n + x, 0);
  const share = answered === 0 ? 0 : (100 * (b.versions[canary] ?? 0)) / answered;
  log(
    `${what} at 10 %: ${String(b.sent)} sent, ${String(b.failed)} failed, ${JSON.stringify(b.versions)}: canary ${share.toFixed(1)} %`,
  );
  assert.ok(answered >= 1900, `${what}: only ${String(answered)} answered`);
  assert.equal(b.failed, 0, what);
  assert.ok(Math.abs(share - 10) <= 3, `${what}: canary share ${share.toFixed(1)} %`);
}

/** Runs `script` in a busybox pod to completion and returns what it printed. */
async function runScript(what: string, script: string, injected: boolean): Promise<string> {
  const name = `${what}-${Date.now().toString(36)}`; // a fresh log file each run, as burst()
  await cluster().core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: {
        name,
        annotations: injected ? {} : { "vireo.dev/inject": "disabled" },
      },
      spec: {
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }],
      },
    },
  });
  const pod = await eventually(
    `${name} to finish`,
    async () => {
      const p = await cluster().core.readNamespacedPod({ namespace: NS, name });
      const ph = p.status?.phase;
      return ph === "Succeeded" || ph === "Failed" ? p : undefined;
    },
    180_000,
  );
  const out = await readFile(podLogPath(NS, name, "main"), "utf8");
  await cluster().core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
  const sidecar = (pod.spec?.initContainers ?? []).some((c) => c.name === "vireo-proxy");
  assert.equal(sidecar, injected, `${name}: injected ${String(sidecar)}`);
  return out;
}

const hasProxy = (p: V1Pod): boolean =>
  (p.spec?.initContainers ?? []).some((c) => c.name === "vireo-proxy");

describe("end to end: releases of the example app, installed with the chart", function () {
  this.timeout(600_000);
  let installed: Installed | undefined;
  const started = Date.now();

  before(async () => {
    installed = await install();
    await apply(
      "security.yaml",
      "alertprovider.yaml",
      "podinfo.yaml",
      "loadgen.yaml",
      "rollout-canary.yaml",
    );
    await until("the Rollout to initialize", (s) => s.phase === "Initialized");
    await settledOn("v1");
  });

  after(async () => {
    await installed?.uninstall();
  });

  it("promotes a healthy canary step by step with zero failed requests", async () => {
    const window = await LoadWindow.open(LOADGENS);
    const { last, verified } = await follow("v2");
    assert.equal(last.phase, "Succeeded", last.message);
    assert.deepEqual(
      verified.filter((w) => w > 0),
      [10, 30, 60, 100],
      "each step, then all traffic on the canary before the primary is updated",
    );
    await settledOn("v2");
    await noFailures(window, "the v2 release");
  });

  it("rolls back a faulty canary by itself and reports what users saw fail", async () => {
    const window = await LoadWindow.open(LOADGENS);
    const { last } = await follow("v3-faulty");
    assert.equal(last.phase, "Failed", last.message);
    assert.ok((last.failedChecks ?? 0) >= 2, JSON.stringify(last));
    await settledOn("v2");
    const t = await window.totals("loadgen");
    const canaryShare = t.sent === 0 ? 0 : (100 * t.failed) / t.sent;
    log(
      `v3-faulty: ${String(t.failed)} of ${String(t.sent)} user requests failed before the rollback ` +
        `(${canaryShare.toFixed(1)} %; the canary had at most 10 % of traffic)`,
    );
    assert.ok(t.failed > 0, "the faulty canary received traffic");
    assert.ok(canaryShare < 10, "only the canary's share of requests can fail");
    await eventually("one rollback message", async () =>
      (await alerts()).some((a) => a.event === "rolledBack") ? true : undefined,
    );
  });

  it("aborts a release on request: traffic returns to the primary, no request fails", async () => {
    const window = await LoadWindow.open(LOADGENS);
    await release("v4");
    await until("v4 at 10 %", (s) => s.verifiedWeight === 10);
    const abort = await vireo(["abort", "podinfo"]);
    assert.equal(abort.code, 0, abort.out);
    const last = await until("the abort", (s) => s.phase === "Failed");
    assert.match(last.message ?? "", /abort/i);
    await settledOn("v2");
    await noFailures(window, "the aborted v4 release");
  });

  it("promotes on request mid-release, skipping the remaining steps", async () => {
    const window = await LoadWindow.open(LOADGENS);
    await release("v5");
    await until("v5 at 10 %", (s) => s.verifiedWeight === 10);
    const promote = await vireo(["promote", "podinfo"]);
    assert.equal(promote.code, 0, promote.out);
    const verified: number[] = [];
    const last = await until("the promotion", (s) => {
      const w = s.verifiedWeight ?? 0;
      if (verified.at(-1) !== w) verified.push(w);
      return s.phase === "Succeeded" || s.phase === "Failed";
    });
    assert.equal(last.phase, "Succeeded", last.message);
    // The CLI takes a moment to start, so the release may reach 30 % first; never the last step.
    assert.ok(!verified.includes(60), `weights after the request: ${verified.join(" ")}`);
    await settledOn("v5");
    await noFailures(window, "the v5 release promoted by request");
  });

  it("finishes a release once, correctly, after the controller is killed mid-release", async () => {
    const window = await LoadWindow.open(LOADGENS);
    const before = (await alerts()).filter((a) => a.event === "promoted").length;
    await release("v6");
    await until("v6 at 30 %", (s) => s.verifiedWeight === 30);
    const killed = await killController();
    const killedAt = Date.now();
    log(`killed controller pod ${killed} at 30 %`);
    // The proxies reconnect only once the Service sends them to the new leader; saying so apart
    // from the release's own outcome tells a hand-over fault from a routing one.
    const leader = await eventually(
      "the xDS Service to send proxies to a new controller pod",
      async () => {
        const s = await xdsServing();
        const other = s.ready.find((p) => p !== killed);
        if (other === undefined) throw new Error(s.described);
        return other;
      },
      90_000,
      500,
    );
    log(`xDS served by ${leader} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const verified: number[] = [];
    const last = await until("the release to finish", (s) => {
      const w = s.verifiedWeight ?? 0;
      if (verified.at(-1) !== w) verified.push(w);
      return s.phase === "Succeeded" || s.phase === "Failed";
    });
    assert.equal(last.phase, "Succeeded", last.message);
    assert.notEqual(await controllerPod(), killed);
    assert.deepEqual(
      verified.filter((w) => w > 0 && w < 100),
      [30, 60],
      "resumed at the step it was on",
    );
    await settledOn("v6");
    await noFailures(window, "the v6 release with the controller killed");
    await eventually("the promotion message", async () =>
      (await alerts()).filter((a) => a.event === "promoted").length > before ? true : undefined,
    );
    // Give a duplicate the time to show up, then count.
    await new Promise((r) => setTimeout(r, 3000));
    const promoted = (await alerts()).filter((a) => a.event === "promoted").length - before;
    assert.equal(promoted, 1, "promoted exactly once");
  });

  it("finishes a release with the API server frozen for 30 s mid-release, no request failing", async () => {
    const window = await LoadWindow.open(LOADGENS);
    await release("v6.2");
    await until("v6.2 at 30 %", (s) => s.verifiedWeight === 30);
    const at = Date.now();
    await freezeApiServer(30_000);
    log(`kube-apiserver frozen for ${String(Math.round((Date.now() - at) / 1000))} s at 30 %`);
    const verified: number[] = [30];
    const last = await until("the release to finish", (s) => {
      const w = s.verifiedWeight ?? 0;
      if (verified.at(-1) !== w) verified.push(w);
      return s.phase === "Succeeded" || s.phase === "Failed";
    });
    assert.equal(last.phase, "Succeeded", last.message);
    assert.deepEqual(
      verified.filter((w) => w > 0 && w < 100),
      [30, 60],
      "no step skipped or repeated",
    );
    await settledOn("v6.2");
    await noFailures(window, "the v6.2 release with the API server frozen");
  });

  it("splits 2,000 plain HTTP requests 90/10 within 3 points while a step holds", async () => {
    await kubectl(["apply", "-f", "-"], await pausedAtTen("rollout-canary.yaml"));
    await release("v6.1");
    await until("v6.1 held at 10 %", (s) => s.phase === "Progressing" && s.verifiedWeight === 10);
    const b = await burst("burst-http", "loadgen", {
      name: "loadgen",
      image: "vireo/loadgen:0.1.0",
      args: ["--rps=100", "--duration-s=20", `--url=http://podinfo.${NS}:9898/`],
    });
    assertTenPercent("podinfo, plain HTTP captured by the proxy", b, "v6.1");
    const promote = await vireo(["promote", "podinfo"]);
    assert.equal(promote.code, 0, promote.out);
    const last = await until(
      "v6.1 promoted",
      (s) => s.phase === "Succeeded" || s.phase === "Failed",
    );
    assert.equal(last.phase, "Succeeded", last.message);
    await settledOn("v6.1");
  });

  it("A/B testing: only matching requests reach the canary", async () => {
    await apply("rollout-ab-testing.yaml");
    const window = await LoadWindow.open(LOADGENS);
    await release("v7");
    await until("v7 under analysis", (s) => s.phase === "Progressing" && s.verifiedWeight === 0);
    await eventually("insiders answered by v7", async () =>
      (await window.totals("loadgen-insider")).versions.has("v7") ? true : undefined,
    );
    const { phase } = await until("the promotion", (s) =>
      ["Succeeded", "Failed"].includes(s.phase ?? ""),
    );
    assert.equal(phase, "Succeeded");
    await settledOn("v7");
    // Before the promotion switched everything, plain requests saw only the primary.
    const plain = await window.seconds("loadgen");
    const firstV7 = plain.findIndex((s) => (s.versions.v7 ?? 0) > 0);
    const insiders = await window.seconds("loadgen-insider");
    const firstInsiderV7 = insiders.findIndex((s) => (s.versions.v7 ?? 0) > 0);
    assert.ok(firstInsiderV7 >= 0 && firstV7 >= 0);
    assert.ok(
      plain.slice(0, firstV7).every((s) => Object.keys(s.versions).every((v) => v === "v6.1")),
      "plain requests were answered by v6.1 (the primary) until the promotion",
    );
    log(
      `insiders reached v7 ${String(firstV7 - firstInsiderV7)} s before everyone else (the analysis)`,
    );
    await noFailures(window, "the A/B release of v7");
  });

  it("blue/green: the canary is analysed without traffic, then everything switches at once", async () => {
    await apply("rollout-blue-green.yaml");
    const window = await LoadWindow.open(LOADGENS);
    const { last } = await follow("v8");
    assert.equal(last.phase, "Succeeded", last.message);
    await settledOn("v8");
    const seconds = await window.seconds("loadgen");
    const mixed = seconds.filter((s) => (s.versions.v7 ?? 0) > 0 && (s.versions.v8 ?? 0) > 0);
    assert.ok(mixed.length <= 2, `both versions answered in ${String(mixed.length)} seconds`);
    const firstV8 = seconds.findIndex((s) => (s.versions.v8 ?? 0) > 0);
    assert.ok(firstV8 > 5, "v8 answered nobody during its analysis");
    await noFailures(window, "the blue/green release of v8");
  });

  it("mirroring: the canary gets a copy of the traffic, users get only the primary's answers", async () => {
    await apply("rollout-mirroring.yaml");
    const window = await LoadWindow.open(LOADGENS);
    await release("v9");
    const during = await until(
      "v9 under analysis with mirrored traffic",
      (s) => s.phase === "Progressing" && (s.canaryRevision ?? "") !== "",
    );
    assert.equal(during.verifiedWeight ?? 0, 0);
    // The canary's own proxy counts the copies it answered.
    const q = encodeURIComponent(
      `sum(increase(vireo_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="podinfo"}[15s]))`,
    );
    const shadowed = await eventually("mirrored requests at the canary", async () => {
      const res = (await (await fetch(`${prometheusURL}/api/v1/query?query=${q}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      const n = Math.round(Number(res.data.result[0]?.value[1] ?? 0));
      return n > 20 ? n : undefined;
    });
    const users = await window.totals("loadgen");
    assert.ok(!users.versions.has("v9"), "no user saw a mirrored answer");
    log(`the canary answered ${String(shadowed)} mirrored requests in 15 s; users saw only v8`);
    const { phase } = await until("the promotion", (s) =>
      ["Succeeded", "Failed"].includes(s.phase ?? ""),
    );
    assert.equal(phase, "Succeeded");
    await settledOn("v9");
    await noFailures(window, "the mirrored release of v9");
  });

  it("held STRICT mutual TLS and the AuthorizationPolicy through every release", async () => {
    // Every request any podinfo proxy answered during the suite came over mutual TLS.
    const q = encodeURIComponent(
      `sum by (connection_security_policy) (max_over_time(vireo_requests_total{reporter="destination",destination_workload_namespace="${NS}"}[${String(Math.ceil((Date.now() - started) / 1000))}s]))`,
    );
    const res = (await (await fetch(`${prometheusURL}/api/v1/query?query=${q}`)).json()) as {
      data: {
        result: { metric: { connection_security_policy?: string }; value: [number, string] }[];
      };
    };
    const byPolicy = Object.fromEntries(
      res.data.result.map((r) => [r.metric.connection_security_policy ?? "", Number(r.value[1])]),
    );
    log(
      `requests answered by podinfo's proxies, by connection security: ${JSON.stringify(byPolicy)}`,
    );
    assert.ok((byPolicy.mutual_tls ?? 0) > 1000, JSON.stringify(byPolicy));
    assert.deepEqual(Object.keys(byPolicy), ["mutual_tls"]);
    // A meshed caller with an identity the policy does not name is refused by podinfo's proxy.
    const intruder = (await example("loadgen.yaml"))
      .split("\n---\n")
      .slice(0, 2)
      .join("\n---\n")
      .replaceAll("  name: loadgen\n", "  name: intruder\n")
      .replaceAll("app: loadgen", "app: intruder")
      .replaceAll("serviceAccountName: loadgen", "serviceAccountName: intruder")
      .replace("--rps=20", "--rps=5");
    await kubectl(["apply", "-f", "-"], intruder);
    const refused = await eventually("the intruder's requests", async () => {
      const s = (await loadSeconds("intruder")).filter((x) => x.sent > 0);
      return s.length >= 3 ? s : undefined;
    });
    const sent = refused.reduce((n, x) => n + x.sent, 0);
    assert.equal(
      refused.reduce((n, x) => n + x.refused, 0),
      sent,
      "every request refused with 4xx",
    );
    log(`service account intruder: ${String(sent)} requests, all refused (403)`);
    // A client without a sidecar (the host, plaintext, straight to a podinfo pod) is not served
    // at all: not on the app's own port (captured, and STRICT refuses plaintext), not on the
    // proxy's inbound port, and the proxy's admin port answers only inside the pod.
    const pods = await cluster().core.listNamespacedPod({
      namespace: NS,
      labelSelector: "app=podinfo-primary",
    });
    const ip = pods.items[0]?.status?.podIP ?? "";
    for (const path of [":9898/", ":15006/", ":15000/config_dump"]) {
      const plain = await fetch(`http://${ip}${path}`, {
        signal: AbortSignal.timeout(10_000),
      }).then(
        (r) => `HTTP ${String(r.status)}`,
        (err: unknown) =>
          `refused (${String((err as { cause?: { code?: string } }).cause?.code ?? err)})`,
      );
      log(`plaintext request from the host to ${ip}${path}: ${plain}`);
      assert.match(plain, /^refused/, `${ip}${path}`);
    }
  });

  it("shows where the release stands in kubectl get rollouts, and every notification", async () => {
    const table = await kubectl(["-n", NS, "get", "rollouts", "-o", "wide"]);
    for (const l of table.trimEnd().split("\n")) log(l);
    assert.match(table, /^NAME\s+STATUS\s+WEIGHT\s+STEP\s+FAILED\s+LAST TRANSITION\s+AGE/);
    assert.match(table, /\npodinfo\s+Succeeded\s+0\s/);
    const events = (await alerts()).map((a) => a.event);
    log(`notifications: ${events.join(", ")}`);
    assert.equal(events.filter((e) => e === "promoted").length, 8, events.join(", "));
    assert.equal(events.filter((e) => e === "rolledBack").length, 2, events.join(", "));
  });
  it("releases a gRPC service the same way: promotes a healthy version, rolls back one answering INTERNAL", async () => {
    await apply("grpc.yaml", "rollout-grpc.yaml");
    await until(
      "the greeter Rollout to initialize",
      (s) => s.phase === "Initialized",
      240_000,
      "greeter",
    );
    await settledOn("v1", "grpc-client");
    const window = await LoadWindow.open(["grpc-client"]);
    const v2 = await follow("v2", GREETER);
    assert.equal(v2.last.phase, "Succeeded", v2.last.message);
    assert.deepEqual(
      v2.verified.filter((w) => w > 0),
      [10, 30, 60, 100],
    );
    await settledOn("v2", "grpc-client");
    const t2 = await window.totals("grpc-client");
    log(
      `greeter v2: ${String(t2.sent)} gRPC calls during the release, ${String(t2.failed)} failed`,
    );
    assert.ok(t2.sent > 20, `only ${String(t2.sent)} calls`);
    assert.equal(t2.failed, 0);

    // A step held at 10 %: 2,000 calls from a one-off client split 90/10 within 3 points.
    await kubectl(["apply", "-f", "-"], await pausedAtTen("rollout-grpc.yaml"));
    await release("v4", GREETER);
    await until(
      "greeter v4 held at 10 %",
      (s) => s.phase === "Progressing" && s.verifiedWeight === 10,
      240_000,
      "greeter",
    );
    const b = await burst("burst-grpc", "grpc-client", {
      name: "client",
      image: "vireo/grpc-client:0.1.0",
      args: [`--target=greeter.${NS}:9090`, "--rps=100", "--duration-s=20"],
    });
    assertTenPercent("greeter, gRPC", b, "v4");
    assert.equal((await vireo(["promote", "greeter"])).code, 0);
    const v4 = await until(
      "greeter v4 promoted",
      (s) => s.phase === "Succeeded" || s.phase === "Failed",
      240_000,
      "greeter",
    );
    assert.equal(v4.phase, "Succeeded", v4.message);
    await kubectl(["apply", "-f", "-"], await example("rollout-grpc.yaml"));
    await settledOn("v4", "grpc-client");

    const faulty = await LoadWindow.open(["grpc-client"]);
    const v3 = await follow("v3-faulty", GREETER);
    assert.equal(v3.last.phase, "Failed", v3.last.message);
    await settledOn("v4", "grpc-client");
    const t3 = await faulty.totals("grpc-client");
    const share = t3.sent === 0 ? 0 : (100 * t3.failed) / t3.sent;
    log(
      `greeter v3-faulty: ${String(t3.failed)} of ${String(t3.sent)} calls failed before the rollback (${share.toFixed(1)} %)`,
    );
    assert.ok(t3.failed > 0, "the faulty canary received calls");
    assert.ok(share < 10, "only the canary's share of calls can fail");

    // What the greeter's own proxies answered: gRPC, over mutual TLS, nothing else.
    const seen = await promSeries(
      `sum by (request_protocol, connection_security_policy) (vireo_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_service=~"greeter.*"})`,
      ["request_protocol", "connection_security_policy"],
    );
    log(`calls answered by the greeter's proxies: ${JSON.stringify(seen)}`);
    assert.deepEqual(Object.keys(seen), ["grpc/mutual_tls"]);
  });
  it("lets a meshed pod reach the API server and a TCP server outside the mesh, and refuses an unmeshed pod", async () => {
    // A plain TCP echo server on the host, outside the mesh (the pods' gateway address).
    const echo = createServer((sock) => sock.pipe(sock));
    await new Promise<void>((resolve) => echo.listen(18093, "10.244.0.1", resolve));
    try {
      const tcp =
        'node -e \'const s = require("net").connect(18093, "10.244.0.1", () => s.write("ping"));' +
        ' s.setTimeout(5000, () => { console.log("timeout"); process.exit(1); });' +
        ' s.on("data", (d) => { console.log(String(d)); s.destroy(); })\'';
      const out = await runScript(
        "reach-out",
        [
          "sa=/var/run/secrets/kubernetes.io/serviceaccount",
          'echo "api: $(curl -s -m 10 -o /dev/null -w "%{http_code}" --cacert $sa/ca.crt ' +
            '-H "Authorization: Bearer $(cat $sa/token)" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/version)"',
          `echo "tcp: $(${tcp})"`,
          "echo done",
        ].join("; "),
        true,
      );
      log(`meshed pod: ${out.trim().split("\n").join(" | ")}`);
      assert.match(out, /^api: 200$/m, out);
      assert.match(out, /^tcp: ping$/m, out);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
    // An unmeshed pod in the same namespace: STRICT refuses it on the app's port, and the
    // proxy's admin port is not there for it (config_dump, quitquitquit).
    const pods = await cluster().core.listNamespacedPod({
      namespace: NS,
      labelSelector: "app=podinfo-primary",
    });
    const ip = pods.items[0]?.status?.podIP ?? "";
    const curl = (what: string, args: string): string =>
      `echo "${what}: $(curl -s -m 5 -o /dev/null -w "%{http_code}" ${args})"`;
    const out = await runScript(
      "outsider",
      [
        curl("app", `http://${ip}:9898/`),
        curl("config_dump", `http://${ip}:15000/config_dump`),
        curl("quitquitquit", `-X POST http://${ip}:15000/quitquitquit`),
        "echo done",
      ].join("; "),
      false,
    );
    log(`unmeshed pod to ${ip}: ${out.trim().split("\n").join(" | ")} (000: no HTTP answer)`);
    for (const what of ["app", "config_dump", "quitquitquit"]) {
      assert.match(out, new RegExp(`^${what}: 000$`, "m"), out);
    }
    const after = await cluster().core.readNamespacedPod({
      namespace: NS,
      name: pods.items[0]?.metadata?.name ?? "",
    });
    assert.ok(
      (after.status?.initContainerStatuses ?? []).every((c) => c.restartCount === 0),
      "the proxy was not stopped",
    );
  });

  it("vireo check passes on the install and its proxies, and names a proxy that does not answer", async () => {
    const check = () => vireo(["check", "--release", RELEASE, "--probe-namespace", NS], SYSTEM_NS);
    const ok = await check();
    log(`vireo check:\n${ok.out}`);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^√ injection webhook answers over TLS: .*vireo-proxy/m);
    const synced = /^√ proxies connected and synced: (\d+) of (\d+) ready proxies/m.exec(ok.out);
    assert.ok(synced !== null && Number(synced[1]) >= 3, ok.out); // podinfo, its primary, loadgen, ...
    assert.match(ok.out, /^√ version skew: /m);
    // A pod that claims to be injected (by an older version) but whose proxy serves nothing.
    const name = `check-stale-${Date.now().toString(36)}`;
    const idle = {
      image: "busybox",
      command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
    };
    await cluster().core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: {
          name,
          annotations: { "sidecar.vireo.dev/status": JSON.stringify({ version: "0.0.9" }) },
        },
        spec: {
          terminationGracePeriodSeconds: 1,
          initContainers: [{ name: "vireo-proxy", restartPolicy: "Always", ...idle }],
          containers: [{ name: "app", ...idle }],
        },
      },
    });
    try {
      await eventually("the stale pod running", async () => {
        const p = await cluster().core.readNamespacedPod({ namespace: NS, name });
        return p.status?.phase === "Running" ? p : undefined;
      });
      const bad = await check();
      log(`vireo check with ${name}:\n${bad.out}`);
      assert.equal(bad.code, 1, bad.out);
      assert.match(
        bad.out,
        new RegExp(`^× proxies connected and synced: .*1 unreadable .*${NS}/${name}`, "m"),
      );
      assert.match(
        bad.out,
        new RegExp(
          `^‼ version skew: 1 pod\\(s\\) run busybox \\(injected by 0\\.0\\.9\\).*${name}`,
          "m",
        ),
      );
    } finally {
      await cluster().core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
    }
  });

  it("takes a workload out of the mesh when the label goes and its pods restart, with no failed request", async () => {
    const ns = `${NS}-leave`;
    await kubectl(["delete", "namespace", ns, "--ignore-not-found", "--timeout=120s"]);
    await kubectl(["create", "namespace", ns]);
    await kubectl(["label", "namespace", ns, "vireo.dev/inject=enabled"]);
    try {
      const manifest = (await example("loadgen.yaml"))
        .split("\n---\n")
        .slice(0, 2)
        .join("\n---\n")
        .replaceAll(`namespace: ${NS}`, `namespace: ${ns}`)
        .replaceAll(`http://podinfo.${NS}:9898/`, `http://echo.${ns}/`);
      const server = `apiVersion: apps/v1
kind: Deployment
metadata: { name: echo, namespace: ${ns} }
spec:
  replicas: 2
  selector: { matchLabels: { app: echo } }
  template:
    metadata: { labels: { app: echo } }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: echo
          image: vireo/echo:v1
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { tcpSocket: { port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: ${ns} }
spec:
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
      await kubectl(["apply", "-f", "-"], `${manifest}\n---\n${server}`);
      const pods = async (app: string): Promise<V1Pod[]> =>
        (await cluster().core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` }))
          .items;
      await eventually(
        "the load generator answered through the mesh",
        async () => {
          const s = await loadSeconds("loadgen", ns);
          return s.filter((x) => x.ok > 0).length >= 3 ? true : undefined;
        },
        180_000,
      );
      assert.ok((await pods("echo")).every(hasProxy), "echo pods injected");
      const mark = (await loadSeconds("loadgen", ns)).length;
      await kubectl(["label", "namespace", ns, "vireo.dev/inject-"]);
      await kubectl(["-n", ns, "rollout", "restart", "deployment/echo"]);
      await kubectl(["-n", ns, "rollout", "status", "deployment/echo", "--timeout=180s"]);
      await eventually(
        "only uninjected echo pods",
        async () => {
          const p = await pods("echo");
          return p.length === 2 && !p.some(hasProxy) ? true : undefined;
        },
        120_000,
      );
      // A few more seconds of load on the uninjected pods, then count.
      const settle = (await loadSeconds("loadgen", ns)).length + 5;
      await eventually(
        "five more seconds of load",
        async () => ((await loadSeconds("loadgen", ns)).length >= settle ? true : undefined),
        60_000,
      );
      const seconds = (await loadSeconds("loadgen", ns)).slice(mark);
      const sent = seconds.reduce((n, x) => n + x.sent, 0);
      const failed = seconds.reduce((n, x) => n + x.failed + x.refused, 0);
      log(
        `leaving the mesh: ${String(sent)} requests while echo's pods restarted without the proxy, ${String(failed)} failed`,
      );
      assert.ok(sent > 50, `only ${String(sent)} requests`);
      assert.equal(failed, 0);
    } finally {
      await kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
    }
  });
});
