// The AlertProvider parser (what the controller accepts, and what it says about the rest), its
// Secret keys, and its agreement with crds/alertproviders.vireo.dev.yaml.
import assert from "node:assert/strict";
import {
  addressFromSecret,
  hmacKeyFromSecret,
  parseAlertProvider,
  PROVIDER_TYPES,
} from "../../../src/notify/provider.js";
import { readCrdFile } from "../../support/crd-file.js";

const object = (spec: unknown) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "AlertProvider",
  metadata: { namespace: "demo", name: "team" },
  spec,
});

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("parseAlertProvider", () => {
  it("reads an address given inline, with Slack's channel and username", () => {
    assert.deepEqual(
      parseAlertProvider(
        object({
          type: "slack",
          address: "https://hooks.slack.com/services/T/B/X",
          channel: "#releases",
          username: "release-bot",
        }),
      ),
      {
        ok: true,
        provider: {
          namespace: "demo",
          name: "team",
          type: "slack",
          address: { kind: "inline", url: "https://hooks.slack.com/services/T/B/X" },
          channel: "#releases",
          username: "release-bot",
        },
      },
    );
  });

  it("reads an address from a Secret, and a webhook's signing Secret", () => {
    assert.deepEqual(
      parseAlertProvider(
        object({
          type: "webhook",
          secretRef: { name: "hook" },
          signingSecretRef: { name: "hook-key" },
        }),
      ),
      {
        ok: true,
        provider: {
          namespace: "demo",
          name: "team",
          type: "webhook",
          address: { kind: "secret", secretName: "hook" },
          signingSecretName: "hook-key",
        },
      },
    );
  });

  const refusals: [string, unknown, string][] = [
    [
      "both address and secretRef",
      { type: "slack", address: "https://x.test/h", secretRef: { name: "s" } },
      "spec: set exactly one of address, secretRef; found address and secretRef",
    ],
    [
      "neither address nor secretRef",
      { type: "msteams" },
      "spec: set exactly one of address, secretRef; none is set",
    ],
    [
      "an unknown type",
      { type: "pagerduty", address: "https://x.test/h" },
      'spec.type: must be one of slack, msteams, discord, googlechat, webhook, got "pagerduty"',
    ],
    ["no type", { address: "https://x.test/h" }, "spec.type: required"],
    [
      "an address that is not a URL",
      { type: "webhook", address: "hooks.internal/x" },
      'spec.address: "hooks.internal/x" is not an absolute http or https URL',
    ],
    [
      "a channel for Teams",
      { type: "msteams", address: "https://x.test/h", channel: "general" },
      "spec.channel: applies only to type slack, not msteams",
    ],
    [
      "a username for Google Chat",
      { type: "googlechat", address: "https://x.test/h", username: "bot" },
      "spec.username: applies only to types slack and discord, not googlechat",
    ],
    [
      "a signing Secret for Slack",
      { type: "slack", address: "https://x.test/h", signingSecretRef: { name: "k" } },
      "spec.signingSecretRef: applies only to type webhook, not slack",
    ],
    [
      "a secretRef without a name",
      { type: "slack", secretRef: {} },
      "spec.secretRef.name: required",
    ],
    ["no spec", undefined, "spec: required"],
  ];
  for (const [what, spec, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(parseAlertProvider(object(spec)), {
        ok: false,
        reason: "InvalidSpec",
        message,
      });
    });
  }
});

describe("AlertProvider Secrets", () => {
  it("reads the address, trimmed, without echoing it in errors", () => {
    assert.deepEqual(addressFromSecret("s", { address: b64(" https://hooks.test/x\n") }), {
      ok: true,
      url: "https://hooks.test/x",
    });
    assert.deepEqual(addressFromSecret("s", { address: b64("token-123") }), {
      ok: false,
      message: "Secret s key address is not an absolute http or https URL",
    });
    assert.deepEqual(addressFromSecret("s", {}), {
      ok: false,
      message: "Secret s has no key address",
    });
  });

  it("reads the signing key as bytes, and refuses an empty one", () => {
    const got = hmacKeyFromSecret("k", { hmacKey: b64("s3cr3t") });
    assert.ok(got.ok);
    assert.equal(got.value.toString(), "s3cr3t");
    assert.deepEqual(hmacKeyFromSecret("k", { hmacKey: "" }), {
      ok: false,
      message: "Secret k has no key hmacKey, or it is empty",
    });
  });
});

describe("crds/alertproviders.vireo.dev.yaml", () => {
  interface Schema {
    enum?: unknown[];
    required?: string[];
    properties?: Record<string, Schema>;
    "x-kubernetes-validations"?: { rule: string; message: string }[];
  }
  const crd = readCrdFile("alertproviders.vireo.dev.yaml") as {
    spec: {
      versions: {
        additionalPrinterColumns: { name: string; jsonPath: string }[];
        schema: { openAPIV3Schema: Schema };
      }[];
    };
  };
  const version = crd.spec.versions[0] ?? assert.fail("no version");
  const spec = version.schema.openAPIV3Schema.properties?.spec ?? assert.fail("no spec");

  it("allows exactly the types the parser and the registry know", () => {
    assert.deepEqual(spec.properties?.type?.enum, [...PROVIDER_TYPES]);
    assert.deepEqual(spec.required, ["type"]);
  });

  it("has the parser's rules as CEL, with readable messages", () => {
    assert.deepEqual(
      spec["x-kubernetes-validations"]?.map((v) => v.message),
      [
        "set exactly one of address and secretRef",
        "channel applies only to type slack",
        "username applies only to types slack and discord",
        "signingSecretRef applies only to type webhook",
      ],
    );
  });

  it("prints the type and the age, never the address", () => {
    assert.deepEqual(
      version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]),
      [
        ["Type", ".spec.type"],
        ["Age", ".metadata.creationTimestamp"],
      ],
    );
  });
});
