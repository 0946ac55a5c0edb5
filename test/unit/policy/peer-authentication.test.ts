import assert from "node:assert/strict";
import type { PeerAuthentication } from "../../../src/policy/model.js";
import { modeForPort, resolveMtls } from "../../../src/policy/peer-authentication.js";
import { parsePeerAuthentication } from "../../../src/policy/parse.js";

const ROOT = "vireo-system";
const pa = (p: Partial<PeerAuthentication> & { namespace: string }): PeerAuthentication => ({
  name: "p",
  createdAt: 0,
  ...p,
});

const cases: [string, PeerAuthentication[], { mode: string; ports?: Record<number, string> }][] = [
  ["nothing: PERMISSIVE", [], { mode: "PERMISSIVE" }],
  ["mesh STRICT", [pa({ namespace: ROOT, mode: "STRICT" })], { mode: "STRICT" }],
  [
    "namespace over mesh",
    [pa({ namespace: ROOT, mode: "STRICT" }), pa({ namespace: "app", mode: "DISABLE" })],
    { mode: "DISABLE" },
  ],
  [
    "workload over namespace",
    [
      pa({ namespace: "app", mode: "STRICT" }),
      pa({ namespace: "app", name: "w", selector: { app: "web" }, mode: "PERMISSIVE" }),
    ],
    { mode: "PERMISSIVE" },
  ],
  [
    "unset workload mode inherits",
    [
      pa({ namespace: "app", mode: "STRICT" }),
      pa({ namespace: "app", name: "w", selector: { app: "web" } }),
    ],
    { mode: "STRICT" },
  ],
  [
    "selector not matching is ignored",
    [pa({ namespace: "app", selector: { app: "db" }, mode: "DISABLE" })],
    { mode: "PERMISSIVE" },
  ],
  [
    "root-namespace policy with selector is ignored",
    [pa({ namespace: ROOT, selector: { app: "web" }, mode: "STRICT" })],
    { mode: "PERMISSIVE" },
  ],
  [
    "oldest namespace policy wins",
    [
      pa({ namespace: "app", name: "new", createdAt: 2, mode: "DISABLE" }),
      pa({ namespace: "app", name: "old", createdAt: 1, mode: "STRICT" }),
    ],
    { mode: "STRICT" },
  ],
  [
    "port-level override, unset port inherits",
    [
      pa({
        namespace: "app",
        selector: { app: "web" },
        mode: "STRICT",
        portLevelMtls: { "8080": "DISABLE", "9090": undefined },
      }),
    ],
    { mode: "STRICT", ports: { 8080: "DISABLE", 9090: "STRICT" } },
  ],
  [
    "other namespaces do not count",
    [pa({ namespace: "other", mode: "STRICT" })],
    { mode: "PERMISSIVE" },
  ],
];

describe("policy: PeerAuthentication resolution", () => {
  for (const [name, policies, want] of cases) {
    it(name, () => {
      const got = resolveMtls(policies, "app", { app: "web" }, ROOT);
      assert.equal(got.mode, want.mode);
      assert.deepEqual(got.ports, want.ports ?? {});
      for (const [port, m] of Object.entries(want.ports ?? {}))
        assert.equal(modeForPort(got, Number(port)), m);
      assert.equal(modeForPort(got, 1), want.mode);
    });
  }

  it("parses the CRD form", () => {
    const p = parsePeerAuthentication({
      metadata: { namespace: "app", name: "w", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        mtls: { mode: "STRICT" },
        portLevelMtls: { "8080": { mode: "DISABLE" } },
      },
    });
    assert.deepEqual(p, {
      ok: true,
      value: {
        namespace: "app",
        name: "w",
        createdAt: Date.parse("2026-01-01T00:00:00Z"),
        mode: "STRICT",
        selector: { app: "web" },
        portLevelMtls: { "8080": "DISABLE" },
      },
    });
  });
});
