import assert from "node:assert/strict";
import { isVireoError } from "../../../src/common/errors.js";
import { PROVIDER_TYPES } from "../../../src/notify/provider.js";
import { builtInServices, ServiceRegistry } from "../../../src/notify/registry.js";
import { slack } from "../../../src/notify/slack.js";

describe("ServiceRegistry", () => {
  it("has a service for every provider type", () => {
    const registry = builtInServices();
    assert.deepEqual(registry.types().sort(), [...PROVIDER_TYPES].sort());
    for (const type of PROVIDER_TYPES) assert.equal(registry.get(type).type, type);
  });

  it("refuses an unknown provider type, naming the known ones", () => {
    assert.throws(
      () => builtInServices().get("pagerduty"),
      (err: unknown) =>
        isVireoError(err, "UnknownProviderType") &&
        err.message ===
          'unknown alert provider type "pagerduty": known types are slack, msteams, discord, googlechat, webhook',
    );
  });

  it("does not fall back to anything when empty", () => {
    assert.throws(() => new ServiceRegistry().get("slack"), /unknown alert provider type "slack"/);
  });

  it("refuses to register a type twice", () => {
    assert.throws(
      () => new ServiceRegistry().register(slack).register(slack),
      (err: unknown) => isVireoError(err, "DuplicateProviderType"),
    );
  });
});
