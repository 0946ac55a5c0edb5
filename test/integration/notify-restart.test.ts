// Notifications across a controller restart, on the local cluster: a controller that recorded a
// transition but could not deliver its message (the receiver answers 503) is stopped; its message
// waits in the Rollout's status.outbox on the API server; a second controller, once the receiver
// is healed, delivers it exactly once. Then a receiver failing twice gets one message.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { ensureCrd } from "./crds.js";
import { cluster, controllerConfig, eventually, repoRoot, useNamespace } from "./harness.js";

interface Outbox {
  id: string;
  event: string;
  pending: { namespace: string; name: string }[];
}

interface Status {
  phase?: string;
  outbox?: Outbox[];
  notified?: string[];
}

interface Got {
  readonly id: string;
  readonly event: string;
  readonly status: number;
}

/** A webhook receiver whose answers the test changes: 503 (Retry-After if set) while `failing`. */
class Receiver {
  readonly got: Got[] = [];
  /** How many of the next requests fail; Infinity: down until healed. */
  failing = 0;
  retryAfter: string | undefined;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Got;
      const fail = this.failing > 0;
      if (fail) this.failing--;
      const status = fail ? 503 : 200;
      this.got.push({ id: body.id, event: body.event, status });
      const headers =
        fail && this.retryAfter !== undefined ? { "retry-after": this.retryAfter } : {};
      res.writeHead(status, headers).end(fail ? "unavailable" : "ok");
    });
  });

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  accepted(id: string): number {
    return this.got.filter((g) => g.id === id && g.status === 200).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe("notifications across a controller restart, on the local cluster", function () {
  this.timeout(240_000);
  const ns = useNamespace("notify-restart");
  const receiver = new Receiver();
  const running: RunningController[] = [];
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);
  const rolloutApi = { group: "vireo.dev", version: "v1alpha1", plural: "rollouts" };

  async function status(): Promise<Status> {
    const r = (await custom().getNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      name: "app",
    })) as { status?: Status };
    return r.status ?? {};
  }

  async function controller(): Promise<RunningController> {
    const c = await startController(controllerConfig(ns()), () => undefined);
    running.push(c);
    return c;
  }

  /** After a CRD change the API server may prune a new field for a moment: wait until it keeps it. */
  async function outboxServed(): Promise<void> {
    const name = "outbox-probe";
    await custom().createNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "none" },
          service: { port: 80 },
          strategy: { canary: { steps: [{ setWeight: 50 }] } },
        },
      },
    });
    const entry = {
      id: "probe",
      event: "promoted",
      severity: "info",
      message: "probe",
      revision: "r",
      phase: "Succeeded",
      weight: 0,
      pending: [{ namespace: ns(), name: "hook" }],
    };
    await eventually("status.outbox to be kept by the API server", async () => {
      await custom().patchNamespacedCustomObjectStatus(
        {
          ...rolloutApi,
          namespace: ns(),
          name,
          body: [{ op: "add", path: "/status", value: { phase: "Succeeded", outbox: [entry] } }],
        },
        setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
      );
      const r = (await custom().getNamespacedCustomObject({
        ...rolloutApi,
        namespace: ns(),
        name,
      })) as { status?: Status };
      return r.status?.outbox?.[0]?.id === "probe" ? true : undefined;
    });
    await custom().deleteNamespacedCustomObject({ ...rolloutApi, namespace: ns(), name });
  }

  async function setImage(image: string): Promise<void> {
    await cluster().apps.patchNamespacedDeployment(
      {
        namespace: ns(),
        name: "app",
        body: { spec: { template: { spec: { containers: [{ name: "app", image }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  async function createApp(): Promise<void> {
    await cluster().apps.createNamespacedDeployment({
      namespace: ns(),
      body: {
        metadata: { name: "app" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "app" } },
          template: {
            metadata: { labels: { app: "app" } },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                {
                  name: "app",
                  image: "vireo/echo:v1",
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await custom().createNamespacedCustomObject({
      ...rolloutApi,
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "Rollout",
        metadata: { name: "app" },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "app" },
          service: { port: 80, targetPort: 8080 },
          progressDeadlineSeconds: 60,
          strategy: { canary: { steps: [{ setWeight: 50 }] } },
          analysis: { interval: "1s", threshold: 2 },
          alerts: [{ name: "team", severity: "info", providerRef: { name: "hook" } }],
        },
      },
    });
  }

  before(async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    await ensureCrd(join(repoRoot, "crds/alertproviders.vireo.dev.yaml"));
    await outboxServed();
    await receiver.listen();
    await custom().createNamespacedCustomObject({
      group: "vireo.dev",
      version: "v1alpha1",
      plural: "alertproviders",
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "AlertProvider",
        metadata: { name: "hook" },
        spec: { type: "webhook", address: receiver.url },
      },
    });
  });

  after(async () => {
    for (const c of running.splice(0)) await c.stop();
    await receiver.close();
  });

  it("a message the stopped controller could not deliver waits in the status; the next one sends it once", async () => {
    // Down, and asking for 30 s before the next attempt: the first controller stops meanwhile.
    receiver.failing = Infinity;
    receiver.retryAfter = "30";
    const first = await controller();
    await createApp();
    const pending = await eventually(
      "the initialized message in status.outbox, refused once by the receiver",
      async () => {
        const e = (await status()).outbox?.find((x) => x.event === "initialized");
        const tried = receiver.got.some((g) => g.event === "initialized" && g.status === 503);
        return e !== undefined && tried ? e : undefined;
      },
      90_000,
    );
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const stored = await status();
    assert.equal(stored.phase, "Initialized");
    assert.deepEqual(
      stored.outbox?.find((e) => e.id === pending.id)?.pending,
      [{ namespace: ns(), name: "hook" }],
      "the stopped controller left the message in the status",
    );
    assert.equal(receiver.accepted(pending.id), 0);

    receiver.failing = 0;
    receiver.retryAfter = undefined;
    await controller();
    const delivery = `${pending.id}@${ns()}/hook`;
    const settled = await eventually(
      "the message delivered and recorded in status.notified",
      async () => {
        const s = await status();
        const done = s.notified?.includes(delivery) === true && s.outbox === undefined;
        return done ? s : undefined;
      },
      60_000,
    );
    assert.deepEqual(settled.notified, [delivery]);
    assert.equal(receiver.accepted(pending.id), 1);
  });

  it("a receiver that fails twice then succeeds receives the next message exactly once", async () => {
    receiver.failing = 2;
    await setImage("vireo/echo:v2");
    const started = await eventually(
      "the started message accepted",
      () => receiver.got.find((g) => g.event === "started" && g.status === 200),
      90_000,
    );
    await eventually(
      "the started message recorded in status.notified",
      async () =>
        (await status()).notified?.some((id) => id.startsWith(started.id)) ? true : undefined,
      60_000,
    );
    const tries = receiver.got.filter((g) => g.id === started.id).map((g) => g.status);
    assert.deepEqual(tries, [503, 503, 200]);
    // The message before it, through the same provider's queue, was not sent again either.
    const initialized = receiver.got.filter((g) => g.event === "initialized" && g.status === 200);
    assert.equal(initialized.length, 1);
  });
});
