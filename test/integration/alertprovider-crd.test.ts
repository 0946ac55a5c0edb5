// The AlertProvider CRD on a real kube-apiserver: what it stores, what it refuses and how it says
// so, and KubeNotifier reading a provider and its Secrets from the cluster to deliver a message.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { CustomObjectsApi } from "@kubernetes/client-node";
import {
  ALERT_PROVIDER_GROUP,
  ALERT_PROVIDER_PLURAL,
  ALERT_PROVIDER_VERSION,
  parseAlertProvider,
} from "../../src/notify/provider.js";
import { builtInServices } from "../../src/notify/registry.js";
import { KubeNotifier } from "../../src/notify/kube-notifier.js";
import {
  dispatcherHarness,
  notification,
  quietLog,
  rolloutSpec,
  transitionOf,
} from "../support/notify-fixtures.js";
import { Receiver } from "../support/http-receiver.js";
import { FakeClock } from "../../src/common/clock.js";
import { apiMessage, ensureCrd } from "./crds.js";
import { cluster, useNamespace } from "./harness.js";

describe("AlertProvider", function () {
  this.timeout(60_000);
  const ns = useNamespace("alert-provider");
  const custom = () => cluster().kc.makeApiClient(CustomObjectsApi);
  const at = () => ({
    group: ALERT_PROVIDER_GROUP,
    version: ALERT_PROVIDER_VERSION,
    plural: ALERT_PROVIDER_PLURAL,
    namespace: ns(),
  });
  const create = (name: string, spec: unknown) =>
    custom().createNamespacedCustomObject({
      ...at(),
      body: {
        apiVersion: `${ALERT_PROVIDER_GROUP}/${ALERT_PROVIDER_VERSION}`,
        kind: "AlertProvider",
        metadata: { name },
        spec,
      },
    });

  before(async function () {
    this.timeout(60_000);
    await ensureCrd("alertproviders.vireo.dev.yaml");
  });

  it("stores a valid provider as written, and the parser accepts what it stores", async () => {
    const spec = {
      type: "slack",
      secretRef: { name: "slack-webhook" },
      channel: "#releases",
      username: "release-bot",
    };
    await create("slack", spec);
    const got = (await custom().getNamespacedCustomObject({ ...at(), name: "slack" })) as {
      spec: unknown;
    };
    assert.deepEqual(got.spec, spec);
    assert.deepEqual(parseAlertProvider(got), {
      ok: true,
      provider: {
        namespace: ns(),
        name: "slack",
        type: "slack",
        address: { kind: "secret", secretName: "slack-webhook" },
        channel: "#releases",
        username: "release-bot",
      },
    });
  });

  // An enum or required violation stops the CEL rules, and the server says so.
  const unchecked =
    "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";
  const refusals: { what: string; spec: unknown; error: string }[] = [
    {
      what: "both address and secretRef",
      spec: { type: "webhook", address: "https://hooks.example/x", secretRef: { name: "s" } },
      error: 'spec: Invalid value: "object": set exactly one of address and secretRef',
    },
    {
      what: "neither address nor secretRef",
      spec: { type: "msteams" },
      error: 'spec: Invalid value: "object": set exactly one of address and secretRef',
    },
    {
      what: "an address that is not a URL",
      spec: { type: "webhook", address: "hooks.example/x" },
      error:
        "spec.address: Invalid value: \"string\": 'hooks.example/x' is not an http or https URL",
    },
    {
      what: "a channel for Teams",
      spec: { type: "msteams", address: "https://hooks.example/x", channel: "general" },
      error: 'spec.channel: Invalid value: "object": channel applies only to type slack',
    },
    {
      what: "a signing Secret for Slack",
      spec: { type: "slack", address: "https://hooks.example/x", signingSecretRef: { name: "k" } },
      error:
        'spec.signingSecretRef: Invalid value: "object": signingSecretRef applies only to type webhook',
    },
    {
      what: "an unknown type",
      spec: { type: "pagerduty", address: "https://hooks.example/x" },
      error: `[spec.type: Unsupported value: "pagerduty": supported values: "slack", "msteams", "discord", "googlechat", "webhook", ${unchecked}]`,
    },
  ];
  refusals.forEach(({ what, spec, error }, i) => {
    it(`refuses ${what}, saying why`, async () => {
      const name = `invalid-${i}`;
      await assert.rejects(create(name, spec), (err) => {
        assert.equal(apiMessage(err), `AlertProvider.vireo.dev "${name}" is invalid: ${error}`);
        return true;
      });
    });
  });

  it("is read with its Secrets by KubeNotifier, which delivers a signed message", async () => {
    const receiver = await Receiver.start();
    const h = dispatcherHarness();
    try {
      await cluster().core.createNamespacedSecret({
        namespace: ns(),
        body: {
          metadata: { name: "hook" },
          stringData: { address: receiver.url("/events"), hmacKey: "k3y" },
        },
      });
      await create("hook", {
        type: "webhook",
        secretRef: { name: "hook" },
        signingSecretRef: { name: "hook" },
      });
      const notifier = new KubeNotifier({
        custom: custom(),
        core: cluster().core,
        dispatcher: h.dispatcher,
        services: builtInServices(),
        clock: new FakeClock(),
        log: quietLog,
      });
      const spec = rolloutSpec([{ name: "t", severity: "info", providerRef: { name: "hook" } }]);
      await notifier.notify({ ...notification(transitionOf("promoted"), spec), namespace: ns() });
      await notifier.idle();
      assert.deepEqual(h.failures, []);
      const [got] = receiver.requests;
      assert.ok(got !== undefined);
      const body = JSON.parse(got.body) as { event: string; rollout: unknown };
      assert.equal(body.event, "promoted");
      assert.deepEqual(body.rollout, { namespace: ns(), name: "podinfo" });
      assert.equal(
        got.headers["x-vireo-signature"],
        `sha256=${createHmac("sha256", "k3y").update(got.body).digest("hex")}`,
      );
    } finally {
      await h.dispatcher.close();
      await receiver.close();
    }
  });
});
