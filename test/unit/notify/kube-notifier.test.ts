// Which providers a notification goes to (the alerts' severity filters, the default provider),
// and how a provider that cannot be used is reported instead of failing the reconcile.
import assert from "node:assert/strict";
import type { Severity } from "../../../src/domain/plan-model.js";
import type { AlertSpec } from "../../../src/domain/rollout.js";
import type { Harness } from "../../support/notify-fixtures.js";
import {
  dispatcherHarness,
  FakeApi,
  kubeNotifier,
  notification,
  rolloutSpec,
  transitionOf,
  UID,
} from "../../support/notify-fixtures.js";
import { Receiver } from "../../support/http-receiver.js";

const alert = (name: string, severity: Severity, namespace?: string): AlertSpec => ({
  name,
  severity,
  providerRef: { name, ...(namespace === undefined ? {} : { namespace }) },
});

const BY_SEVERITY: Readonly<Record<Severity, "promoted" | "waitingApproval" | "rolledBack">> = {
  info: "promoted",
  warn: "waitingApproval",
  error: "rolledBack",
};

describe("KubeNotifier", () => {
  let receiver: Receiver;
  let h: Harness;
  let api: FakeApi;
  beforeEach(async () => {
    receiver = await Receiver.start();
    h = dispatcherHarness();
    api = new FakeApi();
    for (const name of ["info", "warn", "error"]) {
      api.provider("demo", name, { type: "webhook", address: receiver.url(`/${name}`) });
    }
  });
  afterEach(async () => {
    await h.dispatcher.close();
    await receiver.close();
  });

  const paths = () => receiver.requests.map((r) => r.path).sort();

  describe("severity filter: info gets everything, warn gets warn and error, error only error", () => {
    const table: [Severity, string[]][] = [
      ["info", ["/info"]],
      ["warn", ["/info", "/warn"]],
      ["error", ["/error", "/info", "/warn"]],
    ];
    for (const [severity, want] of table) {
      it(`${severity}: goes to ${want.join(", ")}`, async () => {
        const spec = rolloutSpec([
          alert("info", "info"),
          alert("warn", "warn"),
          alert("error", "error"),
        ]);
        const notifier = kubeNotifier(api, h);
        await notifier.notify(notification(transitionOf(BY_SEVERITY[severity]), spec));
        await notifier.idle();
        assert.deepEqual(paths(), want);
      });
    }
  });

  it("sends to the default provider too, under its own filter, and to each provider once", async () => {
    api.provider("vireo-system", "platform", {
      type: "webhook",
      address: receiver.url("/platform"),
    });
    const spec = rolloutSpec([
      alert("info", "info"),
      { ...alert("twice", "info"), providerRef: { name: "info" } },
    ]);
    const notifier = kubeNotifier(api, h, {
      defaultProvider: { namespace: "vireo-system", name: "platform", severity: "error" },
    });
    await notifier.notify(notification(transitionOf("promoted"), spec));
    await notifier.notify(notification(transitionOf("rolledBack"), spec));
    await notifier.idle();
    assert.deepEqual(paths(), ["/info", "/info", "/platform"]);
  });

  it("names its recipients in order (what an outbox entry records), the default provider last", () => {
    const spec = rolloutSpec([
      alert("warn", "warn"),
      alert("info", "info"),
      alert("x", "info", "ops"),
    ]);
    const notifier = kubeNotifier(api, h, {
      defaultProvider: { namespace: "vireo-system", name: "platform", severity: "warn" },
    });
    assert.deepEqual(notifier.recipients("demo", spec, "info"), [
      { namespace: "demo", name: "info" },
      { namespace: "ops", name: "x" },
    ]);
    assert.deepEqual(notifier.recipients("demo", spec, "warn"), [
      { namespace: "demo", name: "warn" },
      { namespace: "demo", name: "info" },
      { namespace: "ops", name: "x" },
      { namespace: "vireo-system", name: "platform" },
    ]);
  });

  it("sends only to the recipients a notification names: those an outbox entry still has pending", async () => {
    const spec = rolloutSpec([alert("info", "info"), alert("warn", "info")]);
    const notifier = kubeNotifier(api, h);
    const n = notification(transitionOf("promoted"), spec);
    await notifier.notify({ ...n, recipients: [{ namespace: "demo", name: "warn" }] });
    await notifier.idle();
    assert.deepEqual(paths(), ["/warn"]);
  });

  it("sends each provider its own delivery id, carrying the transition's id", async () => {
    const spec = rolloutSpec([alert("info", "info"), alert("warn", "info")]);
    const notifier = kubeNotifier(api, h);
    await notifier.notify(notification(transitionOf("promoted"), spec));
    await notifier.idle();
    const id = `${UID}/promoted/7d9f8c6b5/2025-12-31T23:30:00Z`;
    assert.deepEqual(
      receiver.bodies.map((b) => (b as { id: string }).id),
      [id, id],
    );
    assert.deepEqual(await h.counts(), { "webhook/sent": 2 });
  });

  it("resolves a provider in another namespace when the alert names one", async () => {
    api.provider("shared", "ops", { type: "webhook", address: receiver.url("/ops") });
    const notifier = kubeNotifier(api, h);
    await notifier.notify(
      notification(transitionOf("promoted"), rolloutSpec([alert("ops", "info", "shared")])),
    );
    await notifier.idle();
    assert.deepEqual(paths(), ["/ops"]);
  });

  it("reads the address from the provider's Secret at send time", async () => {
    api
      .provider("demo", "secret", { type: "slack", secretRef: { name: "slack-url" } })
      .secret("demo", "slack-url", { address: receiver.url("/from-secret") });
    const notifier = kubeNotifier(api, h);
    const spec = rolloutSpec([alert("secret", "info")]);
    await notifier.notify(notification(transitionOf("started"), spec));
    await notifier.idle();
    api.secret("demo", "slack-url", { address: receiver.url("/rotated") });
    await notifier.notify(notification(transitionOf("promoted"), spec));
    await notifier.idle();
    assert.deepEqual(
      receiver.requests.map((r) => r.path),
      ["/from-secret", "/rotated"],
    );
  });

  describe("reports, and sends to the others, when a provider cannot be used", () => {
    const cases: [string, (api: FakeApi) => void, string, string][] = [
      ["it does not exist", () => undefined, "unknown", "AlertProvider demo/broken not found"],
      [
        "it is invalid",
        (a) => a.provider("demo", "broken", { type: "slack" }),
        "unknown",
        "AlertProvider demo/broken: spec: set exactly one of address, secretRef; none is set",
      ],
      [
        "its Secret is missing",
        (a) => a.provider("demo", "broken", { type: "slack", secretRef: { name: "gone" } }),
        "slack",
        "AlertProvider demo/broken: Secret gone not found",
      ],
      [
        "its Secret lacks the key",
        (a) =>
          a
            .provider("demo", "broken", { type: "slack", secretRef: { name: "s" } })
            .secret("demo", "s", { url: "https://x.test" }),
        "slack",
        "AlertProvider demo/broken: Secret s has no key address",
      ],
      [
        "its signing Secret lacks hmacKey",
        (a) =>
          a
            .provider("demo", "broken", {
              type: "webhook",
              address: "https://x.test",
              signingSecretRef: { name: "k" },
            })
            .secret("demo", "k", { key: "x" }),
        "webhook",
        "AlertProvider demo/broken: Secret k has no key hmacKey, or it is empty",
      ],
    ];
    for (const [what, arrange, provider, reason] of cases) {
      it(what, async () => {
        arrange(api);
        const notifier = kubeNotifier(api, h);
        const spec = rolloutSpec([alert("broken", "info"), alert("info", "info")]);
        await notifier.notify(notification(transitionOf("rolledBack"), spec));
        await notifier.idle();
        assert.deepEqual(paths(), ["/info"]);
        assert.deepEqual(h.failures, [
          {
            id: `${UID}/rolledBack/7d9f8c6b5/2025-12-31T23:40:00Z@demo/broken`,
            destination: "AlertProvider demo/broken",
            provider,
            rollout: { namespace: "demo", name: "podinfo" },
            event: "rolledBack",
            attempts: 0,
            reason,
          },
        ]);
        assert.deepEqual(await h.counts(), { [`${provider}/failed`]: 1, "webhook/sent": 1 });
      });
    }
  });

  it("refuses, and reports, a notification without its context", async () => {
    const notifier = kubeNotifier(api, h);
    await notifier.notify({
      namespace: "demo",
      name: "podinfo",
      event: "promoted",
      severity: "info",
      message: "done",
    });
    await notifier.idle();
    assert.equal(receiver.requests.length, 0);
    assert.deepEqual(
      h.failures.map((f) => f.reason),
      ["the notification has no context (which transition it announces), so it was not sent"],
    );
  });

  it("returns before the API server or the provider answers", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowApi = new FakeApi().provider("demo", "info", {
      type: "webhook",
      address: receiver.url("/info"),
    });
    const read = slowApi.custom.getNamespacedCustomObject;
    slowApi.custom.getNamespacedCustomObject = async (p) => {
      await gate;
      return read(p);
    };
    const notifier = kubeNotifier(slowApi, h);
    await notifier.notify(
      notification(transitionOf("promoted"), rolloutSpec([alert("info", "info")])),
    );
    assert.equal(receiver.requests.length, 0);
    release();
    await notifier.idle();
    assert.equal(receiver.requests.length, 1);
  });
});
