// PodRunner with real processes in a real network namespace (its own bridge, CIDR and namespace
// prefix, so it never meets the local cluster's vireo0/10.244.0.0/16), its ObjectSource and
// EventRecorder ports as in-memory fakes. Needs root, setpriv and iptables (as the node agent does).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Container, V1ContainerStatus, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { EventRecorder } from "../../cluster/node-agent/events.js";
import { loadImageMap } from "../../cluster/node-agent/images.js";
import { IpAllocator, PodNetwork } from "../../cluster/node-agent/network.js";
import { PodRunner } from "../../cluster/node-agent/pod-runner.js";
import type { RepoAccess } from "../../cluster/node-agent/repo-access.js";
import { repoAccess } from "../../cluster/node-agent/repo-access.js";
import type { ObjectSource } from "../../cluster/node-agent/sources.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const NETWORK = {
  bridge: "vtagent0",
  cidr: "10.252.0.0/24",
  gateway: "10.252.0.1",
  nsPrefix: "vta-",
};

interface Harness {
  readonly runner: PodRunner;
  readonly statuses: V1PodStatus[];
  readonly events: { type: string; reason: string; message: string }[];
  until(what: string, ok: (s: V1PodStatus) => boolean, timeoutMs?: number): Promise<V1PodStatus>;
}

const source: ObjectSource = {
  configMap: (_ns, name) =>
    Promise.resolve(name === "settings" ? { data: { greeting: "hello" } } : undefined),
  secret: () => Promise.resolve(undefined),
  token: () => Promise.resolve({ token: "pod-token", expiresAt: Date.now() + 3_600_000 }),
};

describe("node agent PodRunner (real processes, network namespace vta-*)", function () {
  this.timeout(30_000);
  const network = new PodNetwork(NETWORK);
  const ips = IpAllocator.forCidr(NETWORK.cidr);
  const access = repoAccess(repoRoot);
  const runners: PodRunner[] = [];
  let dir = "";
  let seq = 0;

  before(async () => {
    for (const ns of await network.leftovers()) await network.destroy(ns);
    await network.ensureBridge();
  });

  after(async () => {
    await network.removeBridge();
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vta-"));
    await chmod(dir, 0o777); // containers under another uid write their findings here
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.terminate(1)));
    await rm(dir, { recursive: true, force: true });
  });

  function run(spec: V1Pod["spec"], repo: RepoAccess = access): Harness {
    seq++;
    const uid = randomUUID();
    const pod: V1Pod = {
      metadata: { name: `p${String(seq)}`, namespace: "t", uid },
      spec: { terminationGracePeriodSeconds: 5, ...spec, containers: spec?.containers ?? [] },
    };
    const statuses: V1PodStatus[] = [];
    const events: Harness["events"] = [];
    const waiters = new Set<() => void>();
    const record = (type: string): EventRecorder[keyof EventRecorder] => {
      return (_pod, reason, message) => {
        events.push({ type, reason, message });
      };
    };
    const runner: PodRunner = new PodRunner(pod, {
      clock: systemClock,
      log: createLogger({ component: "pod-runner-test", level: "error" }),
      source,
      images: () => loadImageMap(join(repoRoot, "test/cluster/images.json")),
      network,
      ips,
      events: { normal: record("Normal"), warning: record("Warning") },
      access: repo,
      settings: {
        hostIP: NETWORK.gateway,
        apiHost: NETWORK.gateway,
        apiPort: 443,
        stateDir: join(dir, "state"),
        logDir: join(dir, "logs"),
        repoRoot,
        launcher: join(repoRoot, "test/cluster/node-agent/launch.sh"),
        nsPrefix: NETWORK.nsPrefix,
        basePath: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        backoffBaseMs: 200,
        backoffMaxMs: 1000,
        syncPeriodMs: 500,
      },
      onChange: () => {
        statuses.push(runner.status());
        for (const w of [...waiters]) w();
      },
    });
    runners.push(runner);
    void runner.start();
    return {
      runner,
      statuses,
      events,
      until: (what, ok, timeoutMs = 15_000) =>
        new Promise((resolvePromise, reject) => {
          const check = (): void => {
            const s = runner.status();
            if (!ok(s)) return;
            waiters.delete(check);
            clearTimeout(timer);
            resolvePromise(s);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(
              new Error(
                `timed out waiting for ${what}; last status ${JSON.stringify(runner.status())}`,
              ),
            );
          }, timeoutMs);
          waiters.add(check);
          check();
        }),
    };
  }

  const sh = (name: string, script: string, extra: Partial<V1Container> = {}): V1Container => ({
    name,
    image: "busybox",
    args: ["-c", script],
    ...extra,
  });
  const sidecar = (name: string, script: string, extra: Partial<V1Container> = {}): V1Container =>
    sh(name, script, { restartPolicy: "Always", ...extra });
  const lines = async (file: string): Promise<string[]> =>
    (await readFile(join(dir, file), "utf8")).split("\n").filter((l) => l !== "");
  const init = (s: V1PodStatus, name: string): V1ContainerStatus | undefined =>
    s.initContainerStatuses?.find((c) => c.name === name);
  const app = (s: V1PodStatus, name: string): V1ContainerStatus | undefined =>
    s.containerStatuses?.find((c) => c.name === name);
  const cond = (s: V1PodStatus, type: string): string | undefined =>
    s.conditions?.find((c) => c.type === type)?.status;
  const forever = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

  it("runs init containers one at a time in spec order, then the app", async () => {
    const h = run({
      initContainers: [
        sh("first", `sleep 0.3; echo first >> ${dir}/order`),
        sh("second", `echo second >> ${dir}/order`),
      ],
      containers: [sh("app", `echo app >> ${dir}/order; ${forever}`)],
    });
    const s = await h.until("app running", (x) => app(x, "app")?.state?.running !== undefined);
    await eventually("the app's line", () => countLines(join(dir, "order")) === 3);
    assert.deepEqual(await lines("order"), ["first", "second", "app"]);
    assert.equal(cond(s, "Initialized"), "True");
    assert.deepEqual(
      s.initContainerStatuses?.map((c) => [c.name, c.state?.terminated?.exitCode]),
      [
        ["first", 0],
        ["second", 0],
      ],
    );
    // While the first ran: Init:0/2 in kubectl, the app waiting PodInitializing.
    const early = h.statuses.find((x) => init(x, "first")?.state?.running !== undefined);
    assert.ok(early !== undefined);
    assert.equal(early.phase, "Pending");
    assert.equal(cond(early, "Initialized"), "False");
    assert.equal(
      early.conditions?.find((c) => c.type === "Initialized")?.message,
      "containers with incomplete status: [first second]",
    );
    assert.equal(init(early, "second")?.state?.waiting?.reason, "PodInitializing");
    assert.equal(app(early, "app")?.state?.waiting?.reason, "PodInitializing");
  });

  it("restarts a failing init container with back-off until it succeeds", async () => {
    const h = run({
      initContainers: [
        sh(
          "flaky",
          `n=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n; [ $n -ge 3 ]`,
        ),
      ],
      containers: [sh("app", forever)],
    });
    const s = await h.until("app running", (x) => app(x, "app")?.state?.running !== undefined);
    assert.equal(init(s, "flaky")?.restartCount, 2);
    assert.equal(init(s, "flaky")?.state?.terminated?.exitCode, 0);
    assert.ok(
      h.statuses.some((x) => init(x, "flaky")?.state?.waiting?.reason === "CrashLoopBackOff"),
    );
    assert.ok(h.events.some((e) => e.reason === "BackOff"));
  });

  it("fails the pod when an init container fails under restartPolicy Never", async () => {
    const h = run({
      restartPolicy: "Never",
      initContainers: [sh("broken", "exit 3")],
      containers: [sh("app", `echo ran > ${dir}/app`)],
    });
    const s = await h.until("pod Failed", (x) => x.phase === "Failed");
    assert.equal(init(s, "broken")?.state?.terminated?.exitCode, 3);
    assert.equal(app(s, "app")?.state?.waiting?.reason, "PodInitializing");
    await assert.rejects(readFile(join(dir, "app")), { code: "ENOENT" });
  });

  it("starts a sidecar before the next init container and the app, gated by its startup probe; its readiness counts", async () => {
    const h = run({
      initContainers: [
        sidecar("proxy", `sleep 0.5; touch ${dir}/started; ${forever}`, {
          startupProbe: { exec: { command: ["test", "-f", `${dir}/started`] }, periodSeconds: 1 },
          readinessProbe: { exec: { command: ["test", "-f", `${dir}/ready`] }, periodSeconds: 1 },
        }),
        sh("user-init", `test -f ${dir}/started && echo saw-proxy >> ${dir}/order`),
      ],
      containers: [sh("app", `test -f ${dir}/started && echo app >> ${dir}/order; ${forever}`)],
    });
    const running = await h.until(
      "app running",
      (x) => app(x, "app")?.state?.running !== undefined,
    );
    await eventually("the app's line", () => countLines(join(dir, "order")) === 2);
    assert.deepEqual(await lines("order"), ["saw-proxy", "app"]);
    assert.equal(init(running, "proxy")?.started, true);
    assert.equal(cond(running, "Initialized"), "True");
    const waitingForProxy = h.statuses.find(
      (x) => init(x, "proxy")?.state?.running !== undefined && init(x, "proxy")?.started === false,
    );
    assert.ok(waitingForProxy !== undefined);
    assert.equal(init(waitingForProxy, "user-init")?.state?.waiting?.reason, "PodInitializing");
    // The app is ready (no probe), the sidecar is not yet: the pod is not Ready.
    assert.equal(app(running, "app")?.ready, true);
    assert.equal(cond(running, "Ready"), "False");
    execFileSync("touch", [join(dir, "ready")]);
    const ready = await h.until("pod Ready", (x) => cond(x, "Ready") === "True");
    assert.equal(init(ready, "proxy")?.ready, true);
    assert.equal(ready.phase, "Running");
  });

  it("restarts a sidecar that exits, whatever the pod's restartPolicy", async () => {
    const h = run({
      restartPolicy: "Never",
      initContainers: [sidecar("proxy", `echo x >> ${dir}/runs; sleep 0.2; exit 1`)],
      containers: [sh("app", forever)],
    });
    const s = await h.until(
      "sidecar restarted twice",
      (x) => (init(x, "proxy")?.restartCount ?? 0) >= 2,
    );
    assert.equal(s.phase, "Running");
    assert.ok((await lines("runs")).length >= 2); // two runs exited, the third may not have written yet
  });

  it("stops the app first, then the sidecars one by one in reverse order", async () => {
    const onTerm = (name: string, extra = ""): string =>
      `trap 'echo ${name}-term >> ${dir}/order; ${extra} exit 0' TERM; echo ${name}-up > ${dir}/${name}-up; while :; do sleep 0.1; done`;
    const h = run({
      initContainers: [
        sidecar("s1", onTerm("s1")),
        sidecar("s2", onTerm("s2", `sleep 0.3; echo s2-exit >> ${dir}/order;`)),
      ],
      containers: [sh("app", onTerm("app", "sleep 0.3;"))],
    });
    await h.until("app running", (x) => app(x, "app")?.state?.running !== undefined);
    await eventually("all up", () =>
      ["s1", "s2", "app"].every((n) => hasFile(join(dir, `${n}-up`))),
    );
    await h.runner.terminate(5);
    assert.deepEqual(await lines("order"), ["app-term", "s2-term", "s2-exit", "s1-term"]);
  });

  it("completes a Job-like pod when its app exits, then stops the sidecar", async () => {
    const h = run({
      restartPolicy: "Never",
      initContainers: [
        sidecar(
          "proxy",
          `trap 'echo proxy-term >> ${dir}/order; exit 0' TERM; touch ${dir}/proxy-up; while :; do sleep 0.1; done`,
        ),
      ],
      // The job waits for the sidecar's trap, or a quick job would stop it before it is set.
      containers: [
        sh(
          "job",
          `until [ -f ${dir}/proxy-up ]; do sleep 0.05; done; echo job-done >> ${dir}/order`,
        ),
      ],
    });
    const s = await h.until("pod Succeeded", (x) => x.phase === "Succeeded");
    assert.deepEqual(await lines("order"), ["job-done", "proxy-term"]);
    assert.equal(app(s, "job")?.state?.terminated?.exitCode, 0);
    assert.ok(init(s, "proxy")?.state?.terminated !== undefined);
    const ns = `vta-${h.runner.uid.replaceAll("-", "").slice(0, 12)}`;
    await eventually("its network namespace removed", () =>
      execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
        .split("\n")
        .every((l) => !l.startsWith(ns)),
    );
  });

  it("runs a container as its runAsUser/runAsGroup (container over pod), able to read its volumes and run node with tsx", async () => {
    const mnt = join(dir, "mnt");
    const h = run({
      securityContext: { runAsUser: 1000, runAsGroup: 3000 },
      volumes: [
        { name: "settings", configMap: { name: "settings" } },
        {
          name: "token",
          projected: { sources: [{ serviceAccountToken: { path: "token", audience: "vireo" } }] },
        },
        { name: "scratch", emptyDir: {} },
      ],
      containers: [
        sh(
          "proxy",
          `id -u > ${dir}/proxy-ids; id -g >> ${dir}/proxy-ids; echo w > ${mnt}/scratch/w && cat ${mnt}/cfg/greeting ${mnt}/token/token > ${dir}/proxy-read; ${forever}`,
          {
            securityContext: { runAsUser: 1337, runAsGroup: 1337, runAsNonRoot: true },
            volumeMounts: [
              { name: "settings", mountPath: `${mnt}/cfg` },
              { name: "token", mountPath: `${mnt}/token` },
              { name: "scratch", mountPath: `${mnt}/scratch` },
            ],
          },
        ),
        sh("inherits", `id -u > ${dir}/inherits-ids; id -g >> ${dir}/inherits-ids; ${forever}`),
        {
          name: "node",
          image: "busybox",
          command: [
            "node",
            "--import",
            "tsx",
            "-e",
            `import("./src/common/clock.ts").then((m) => require("node:fs").writeFileSync("${dir}/node-out", String(process.getuid()) + " " + typeof m.systemClock.now))`,
          ],
          securityContext: { runAsUser: 1337, runAsGroup: 1337 },
        },
      ],
    });
    await h.until(
      "all running",
      (x) =>
        (x.containerStatuses ?? []).every(
          (c) => c.state?.running !== undefined || c.state?.terminated !== undefined,
        ) && (x.containerStatuses?.length ?? 0) === 3,
    );
    await eventually("files written", () =>
      ["proxy-read", "inherits-ids", "node-out"].every((f) => hasFile(join(dir, f))),
    );
    assert.deepEqual(await lines("proxy-ids"), ["1337", "1337"]);
    assert.deepEqual(await lines("inherits-ids"), ["1000", "3000"]);
    assert.equal(await readFile(join(dir, "proxy-read"), "utf8"), "hellopod-token");
    assert.equal(await readFile(join(dir, "node-out"), "utf8"), "1337 function");
    assert.ok(!h.events.some((e) => e.reason === "RunAsUserFallback"), JSON.stringify(h.events));
  });

  it("gives the token to the pods' common runAsUser and fsGroup (0600 then g+r), as the kubelet does", async () => {
    const mnt = join(dir, "mnt");
    run({
      securityContext: { runAsUser: 1337, runAsGroup: 1337, fsGroup: 2000 },
      volumes: [
        {
          name: "token",
          projected: { sources: [{ serviceAccountToken: { path: "token", audience: "vireo" } }] },
        },
      ],
      containers: [
        sh(
          "a",
          `stat -L -c '%u %g %a' ${mnt}/token/token > ${dir}/stat; id -G > ${dir}/groups; cat ${mnt}/token/token > ${dir}/read; ${forever}`,
          {
            volumeMounts: [{ name: "token", mountPath: `${mnt}/token` }],
          },
        ),
      ],
    });
    await eventually("files written", () =>
      ["stat", "groups", "read"].every((f) => hasFile(join(dir, f))),
    );
    assert.deepEqual(await lines("stat"), ["1337 2000 640"]);
    assert.deepEqual(await lines("groups"), ["1337 2000"]);
    assert.equal(await readFile(join(dir, "read"), "utf8"), "pod-token");
  });

  it("checks as the uid whether it can read a checkout: not one under a 0700 directory", async () => {
    const closed = join(dir, "closed");
    execFileSync("mkdir", ["-p", join(closed, "repo", "node_modules", "tsx", "dist")]);
    execFileSync("touch", [
      join(closed, "repo", "package.json"),
      join(closed, "repo", "node_modules", "tsx", "package.json"),
    ]);
    await chmod(closed, 0o700);
    assert.equal(await repoAccess(join(closed, "repo")).canRead(1337, 1337, []), false);
    assert.equal(await repoAccess(join(closed, "repo")).canRead(0, 1337, []), true);
    assert.equal(await access.canRead(1337, 1337, []), true); // this checkout
  });

  it("runs a uid that cannot read the checkout as uid 0 with its gid, with a Warning event", async () => {
    const h = run(
      {
        containers: [
          sh("proxy", `id -u > ${dir}/ids; id -g >> ${dir}/ids; ${forever}`, {
            securityContext: { runAsUser: 1337, runAsGroup: 1337 },
          }),
        ],
      },
      { canRead: (uid) => Promise.resolve(uid === 0) },
    );
    await eventually("ids written", () => countLines(join(dir, "ids")) === 2);
    assert.deepEqual(await lines("ids"), ["0", "1337"]);
    const warning = h.events.find((e) => e.reason === "RunAsUserFallback");
    assert.equal(warning?.type, "Warning");
    assert.match(
      warning.message,
      /uid 1337 cannot read the checkout .* runs as uid 0 with gid 1337/,
    );
  });

  it("refuses a root container under runAsNonRoot", async () => {
    const h = run({
      containers: [sh("rooty", forever, { securityContext: { runAsNonRoot: true } })],
    });
    const s = await h.until(
      "config error",
      (x) => app(x, "rooty")?.state?.waiting?.reason === "CreateContainerConfigError",
    );
    assert.match(
      app(s, "rooty")?.state?.waiting?.message ?? "",
      /runAsNonRoot and image will run as root/,
    );
  });

  it("gives Docker's default capabilities, plus add and minus drop: only a container granted NET_ADMIN can program iptables", async () => {
    const probe = (name: string): string =>
      `grep CapEff /proc/self/status | cut -f2 > ${dir}/${name}-caps; iptables -t nat -L > /dev/null 2>&1; echo $? > ${dir}/${name}-rc; ${forever}`;
    run({
      containers: [
        sh("plain", probe("plain")),
        sh("capture", probe("capture"), {
          securityContext: {
            runAsUser: 0,
            capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
          },
        }),
        sh("added", probe("added"), { securityContext: { capabilities: { add: ["NET_ADMIN"] } } }),
        sh("nonroot", probe("nonroot"), {
          securityContext: { runAsUser: 1337, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
        }),
        sh("privileged", probe("privileged"), { securityContext: { privileged: true } }),
      ],
    });
    const names = ["plain", "capture", "added", "nonroot", "privileged"];
    await eventually("all probed", () => names.every((n) => hasFile(join(dir, `${n}-rc`))));
    const rc = Object.fromEntries(
      await Promise.all(
        names.map(async (n): Promise<[string, string | undefined]> => [
          n,
          (await lines(`${n}-rc`))[0],
        ]),
      ),
    );
    assert.deepEqual(rc, { plain: "4", capture: "0", added: "0", nonroot: "4", privileged: "0" });
    assert.equal((await lines("plain-caps"))[0], "00000000a80425fb"); // Docker's default set
    assert.equal((await lines("capture-caps"))[0], "0000000000003000"); // NET_ADMIN + NET_RAW
    assert.equal((await lines("nonroot-caps"))[0], "0000000000000000");
  });
});

/** Polls a condition on files the containers write (no status change announces them). */
async function eventually(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function countLines(path: string): number {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l !== "").length;
  } catch {
    return 0;
  }
}

function hasFile(path: string): boolean {
  try {
    execFileSync("test", ["-s", path]);
    return true;
  } catch {
    return false;
  }
}
