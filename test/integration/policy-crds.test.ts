// The PeerAuthentication and AuthorizationPolicy CRDs on the real API server: good policies are
// stored as written, bad ones refused with a message that says what is wrong.
import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { parseAuthorizationPolicy, parsePeerAuthentication } from "../../src/policy/parse.js";
import { apiMessage, ensureCrd } from "./crds.js";
import { cluster, useNamespace } from "./harness.js";

const GROUP = "vireo.dev";
const VERSION = "v1alpha1";

describe("PeerAuthentication and AuthorizationPolicy CRDs (real API server)", function () {
  this.timeout(60_000);
  const ns = useNamespace("policy-crds");
  let custom: CustomObjectsApi;
  let n = 0;

  before(async () => {
    await ensureCrd("peerauthentications.vireo.dev.yaml");
    await ensureCrd("authorizationpolicies.vireo.dev.yaml");
    custom = cluster().kc.makeApiClient(CustomObjectsApi);
  });

  const create = async (kind: string, plural: string, spec: unknown): Promise<unknown> => {
    n++;
    return custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns(),
      plural,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name: `p${String(n)}` }, spec },
    });
  };
  const refused = async (kind: string, plural: string, spec: unknown): Promise<string> => {
    try {
      await create(kind, plural, spec);
    } catch (err) {
      return apiMessage(err);
    }
    throw new Error(`${kind} ${JSON.stringify(spec)} was accepted`);
  };
  const pa = (spec: unknown) => create("PeerAuthentication", "peerauthentications", spec);
  const paRefused = (spec: unknown) => refused("PeerAuthentication", "peerauthentications", spec);
  const ap = (spec: unknown) => create("AuthorizationPolicy", "authorizationpolicies", spec);
  const apRefused = (spec: unknown) =>
    refused("AuthorizationPolicy", "authorizationpolicies", spec);

  it("stores a workload PeerAuthentication with port-level modes, which parses", async () => {
    const stored = (await pa({
      selector: { matchLabels: { app: "web" } },
      mtls: { mode: "STRICT" },
      portLevelMtls: { "8080": { mode: "PERMISSIVE" } },
    })) as { metadata: { namespace: string; name: string }; spec: unknown };
    const parsed = parsePeerAuthentication(stored);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.mode, "STRICT");
    assert.deepEqual(parsed.value.portLevelMtls, { "8080": "PERMISSIVE" });
  });

  it("refuses bad PeerAuthentications with readable messages", async () => {
    assert.match(
      await paRefused({ portLevelMtls: { "8080": { mode: "DISABLE" } } }),
      /portLevelMtls requires a selector/,
    );
    assert.match(
      await paRefused({
        selector: { matchLabels: { a: "b" } },
        portLevelMtls: { http: { mode: "STRICT" } },
      }),
      /portLevelMtls keys must be port numbers/,
    );
    assert.match(await paRefused({ mtls: { mode: "STRICTER" } }), /Unsupported value: "STRICTER"/);
  });

  it("stores an AuthorizationPolicy with every supported field, which parses", async () => {
    const stored = (await ap({
      selector: { matchLabels: { app: "web" } },
      action: "DENY",
      rules: [
        {
          from: [{ source: { principals: ["cluster.local/ns/a/sa/*"], notNamespaces: ["b"] } }],
          to: [
            { operation: { methods: ["GET"], notPaths: ["/admin*", "*.json"], ports: ["8080"] } },
          ],
        },
        {},
      ],
    })) as { metadata: { namespace: string; name: string }; spec: unknown };
    const parsed = parseAuthorizationPolicy(stored);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.action, "DENY");
    assert.equal(parsed.value.rules.length, 2);
    await ap({}); // allow-nothing
  });

  it("refuses bad AuthorizationPolicies with readable messages, never half-applied", async () => {
    const cases: [unknown, RegExp][] = [
      [{ action: "CUSTOM" }, /Unsupported value: "CUSTOM"/],
      [
        { rules: [{ to: [{ operation: { ports: ["http"] } }] }] },
        /'http' is not a port number from 1 to 65535/,
      ],
      [
        { rules: [{ to: [{ operation: { paths: ["/a*b"] } }] }] },
        /'\/a\*b': \* may appear only at the start or end/,
      ],
      [{ rules: [{ from: [{ source: {} }] }] }, /a source needs at least one/],
      [
        { rules: [{ when: [{ key: "request.headers[x]", values: ["y"] }] }] },
        /when conditions are not supported/,
      ],
      [
        { rules: [{ to: [{ operation: { hosts: ["a.example"] } }] }] },
        /hosts and notHosts are not supported/,
      ],
      [
        { rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }] }] },
        /only principals, notPrincipals, namespaces and notNamespaces/,
      ],
      [{ rules: [{ from: [] }] }, /should have at least 1 items|must have at least 1 items/],
    ];
    for (const [spec, message] of cases) {
      assert.match(await apRefused(spec), message, JSON.stringify(spec));
    }
  });
});
