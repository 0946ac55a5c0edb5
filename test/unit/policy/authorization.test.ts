import assert from "node:assert/strict";
import { decide, policiesFor } from "../../../src/policy/evaluate.js";
import type { AuthorizationPolicy, AuthzRequest, Rule } from "../../../src/policy/model.js";
import { parseAuthorizationPolicy } from "../../../src/policy/parse.js";
import { compileRbac } from "../../../src/policy/rbac.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { runRbac } from "./rbac-interpreter.js";

const X = "spiffe://cluster.local/ns/a/sa/x";
const Y = "spiffe://cluster.local/ns/b/sa/y";
const BAR = "spiffe://cluster.local/ns/bar/sa/z";

function pol(
  action: "ALLOW" | "DENY",
  rules: Rule[],
  name = `${action}-${String(Math.random())}`,
): AuthorizationPolicy {
  return { namespace: "app", name, action, rules };
}

const req = (r: Partial<AuthzRequest>): AuthzRequest => ({
  method: "GET",
  path: "/",
  port: 8080,
  ...r,
});

const cases: [string, AuthorizationPolicy[], AuthzRequest, "allow" | "deny"][] = [
  ["no policy allows anything", [], req({}), "allow"],
  [
    "ALLOW principal: that principal",
    [pol("ALLOW", [{ from: [{ principals: { values: ["cluster.local/ns/a/sa/x"] } }] }])],
    req({ principal: X }),
    "allow",
  ],
  [
    "ALLOW principal: plaintext denied",
    [pol("ALLOW", [{ from: [{ principals: { values: ["cluster.local/ns/a/sa/x"] } }] }])],
    req({}),
    "deny",
  ],
  [
    "ALLOW principal: other namespace denied",
    [pol("ALLOW", [{ from: [{ principals: { values: ["cluster.local/ns/a/sa/x"] } }] }])],
    req({ principal: Y }),
    "deny",
  ],
  [
    "ALLOW all + DENY notNamespaces foo: bar denied",
    [pol("ALLOW", [{}]), pol("DENY", [{ from: [{ namespaces: { notValues: ["foo"] } }] }])],
    req({ principal: BAR }),
    "deny",
  ],
  [
    "DENY notNamespaces: plaintext denied (notX matches absent)",
    [pol("DENY", [{ from: [{ namespaces: { notValues: ["foo"] } }] }])],
    req({}),
    "deny",
  ],
  [
    "DENY notNamespaces foo: foo allowed",
    [pol("DENY", [{ from: [{ namespaces: { notValues: ["foo"] } }] }])],
    req({ principal: "spiffe://cluster.local/ns/foo/sa/q" }),
    "allow",
  ],
  [
    "DENY path prefix /admin*: query ignored",
    [pol("DENY", [{ to: [{ paths: { values: ["/admin*"] } }] }])],
    req({ path: "/admin/x?y=1" }),
    "deny",
  ],
  [
    "ALLOW /info* GET: POST denied",
    [pol("ALLOW", [{ to: [{ paths: { values: ["/info*"] }, methods: { values: ["GET"] } }] }])],
    req({ method: "POST", path: "/info" }),
    "deny",
  ],
  [
    "ALLOW /info* GET: GET /info/x allowed",
    [pol("ALLOW", [{ to: [{ paths: { values: ["/info*"] }, methods: { values: ["GET"] } }] }])],
    req({ path: "/info/x" }),
    "allow",
  ],
  ["ALLOW with no rules denies everything", [pol("ALLOW", [])], req({ principal: X }), "deny"],
  ["DENY {} + ALLOW {}: deny wins", [pol("DENY", [{}]), pol("ALLOW", [{}])], req({}), "deny"],
  [
    "suffix path *.json",
    [pol("ALLOW", [{ to: [{ paths: { values: ["*.json"] } }] }])],
    req({ path: "/a/b.json" }),
    "allow",
  ],
  [
    "suffix path *.json: other denied",
    [pol("ALLOW", [{ to: [{ paths: { values: ["*.json"] } }] }])],
    req({ path: "/a/b.xml" }),
    "deny",
  ],
  [
    "principal * means any mTLS peer",
    [pol("ALLOW", [{ from: [{ principals: { values: ["*"] } }] }])],
    req({ principal: Y }),
    "allow",
  ],
  [
    "principal * refuses plaintext",
    [pol("ALLOW", [{ from: [{ principals: { values: ["*"] } }] }])],
    req({}),
    "deny",
  ],
  [
    "principal prefix",
    [pol("ALLOW", [{ from: [{ principals: { values: ["cluster.local/ns/a/*"] } }] }])],
    req({ principal: X }),
    "allow",
  ],
  [
    "principal suffix",
    [pol("ALLOW", [{ from: [{ principals: { values: ["*/sa/y"] } }] }])],
    req({ principal: Y }),
    "allow",
  ],
  [
    "principal suffix: other",
    [pol("ALLOW", [{ from: [{ principals: { values: ["*/sa/y"] } }] }])],
    req({ principal: X }),
    "deny",
  ],
  [
    "notPrincipals excludes one",
    [pol("ALLOW", [{ from: [{ principals: { notValues: ["cluster.local/ns/a/sa/x"] } }] }])],
    req({ principal: X }),
    "deny",
  ],
  [
    "notPrincipals lets others",
    [pol("ALLOW", [{ from: [{ principals: { notValues: ["cluster.local/ns/a/sa/x"] } }] }])],
    req({ principal: Y }),
    "allow",
  ],
  [
    "namespace wildcard b*",
    [pol("ALLOW", [{ from: [{ namespaces: { values: ["b*"] } }] }])],
    req({ principal: BAR }),
    "allow",
  ],
  [
    "ports exact",
    [pol("ALLOW", [{ to: [{ ports: { values: ["9090"] } }] }])],
    req({ port: 9090 }),
    "allow",
  ],
  [
    "ports other denied",
    [pol("ALLOW", [{ to: [{ ports: { values: ["9090"] } }] }])],
    req({ port: 8080 }),
    "deny",
  ],
  [
    "notMethods",
    [pol("DENY", [{ to: [{ methods: { notValues: ["GET", "HEAD"] } }] }])],
    req({ method: "DELETE" }),
    "deny",
  ],
  [
    "notMethods lets GET",
    [pol("DENY", [{ to: [{ methods: { notValues: ["GET", "HEAD"] } }] }])],
    req({ method: "GET" }),
    "allow",
  ],
  [
    "notPaths",
    [pol("ALLOW", [{ to: [{ paths: { notValues: ["/private*"] } }] }])],
    req({ path: "/private/a" }),
    "deny",
  ],
  [
    "from AND to both needed",
    [
      pol("ALLOW", [
        {
          from: [{ principals: { values: ["cluster.local/ns/a/sa/x"] } }],
          to: [{ methods: { values: ["GET"] } }],
        },
      ]),
    ],
    req({ principal: X, method: "POST" }),
    "deny",
  ],
  [
    "rules OR: second rule matches",
    [
      pol("ALLOW", [
        { to: [{ methods: { values: ["PUT"] } }] },
        { to: [{ methods: { values: ["GET"] } }] },
      ]),
    ],
    req({}),
    "allow",
  ],
  [
    "fields in one source AND",
    [
      pol("ALLOW", [
        {
          from: [
            { principals: { values: ["cluster.local/ns/a/sa/x"] }, namespaces: { values: ["b"] } },
          ],
        },
      ]),
    ],
    req({ principal: X }),
    "deny",
  ],
  [
    "method wildcard prefix",
    [pol("ALLOW", [{ to: [{ methods: { values: ["P*"] } }] }])],
    req({ method: "PATCH" }),
    "allow",
  ],
];

describe("policy: AuthorizationPolicy evaluation (Istio semantics)", () => {
  for (const [name, policies, r, want] of cases) {
    it(`${name} → ${want}`, () => {
      assert.equal(decide(policies, r), want);
    });
  }
});

describe("policy: compiled RBAC filters decide as the evaluator does", () => {
  const codecs = loadXdsProtos().codecs;
  for (const [name, policies, r, want] of cases) {
    it(`${name} → ${want}`, () => {
      const filters = compileRbac(policies);
      // What goes on the wire decodes to the same meaning.
      const wire = filters.map((f) => codecs.RBAC.deserialize(codecs.RBAC.serialize(f)));
      assert.equal(runRbac(filters, r), want);
      assert.equal(runRbac(wire, r), want);
      assert.equal(filters.length, new Set(policies.map((p) => p.action)).size);
    });
  }

  it("lays out DENY first, then ALLOW", () => {
    const f = compileRbac([pol("ALLOW", [{}], "a"), pol("DENY", [{}], "d")]);
    assert.deepEqual(
      f.map((x) => x.rules?.action),
      ["DENY", "ALLOW"],
    );
    assert.deepEqual(Object.keys(f[0]?.rules?.policies ?? {}), ["ns[app]-policy[d]-rule[0]"]);
  });
});

describe("policy: targeting and parsing", () => {
  it("applies namespace policies, matching selectors, and the root namespace's", () => {
    const all: AuthorizationPolicy[] = [
      { namespace: "app", name: "ns-wide", action: "ALLOW", rules: [] },
      { namespace: "app", name: "web", action: "ALLOW", rules: [], selector: { app: "web" } },
      { namespace: "app", name: "db", action: "ALLOW", rules: [], selector: { app: "db" } },
      { namespace: "vireo-system", name: "mesh", action: "DENY", rules: [] },
      { namespace: "other", name: "x", action: "DENY", rules: [] },
    ];
    assert.deepEqual(
      policiesFor(all, "app", { app: "web" }, "vireo-system").map((p) => p.name),
      ["ns-wide", "web", "mesh"],
    );
  });

  it("parses the CRD form, defaulting action to ALLOW", () => {
    const p = parseAuthorizationPolicy({
      metadata: { namespace: "app", name: "p" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        rules: [
          {
            from: [{ source: { principals: ["cluster.local/ns/a/sa/x"], notNamespaces: ["b"] } }],
            to: [{ operation: { methods: ["GET"], paths: ["/api*"], ports: ["8080"] } }],
          },
        ],
      },
    });
    assert.deepEqual(p, {
      ok: true,
      value: {
        namespace: "app",
        name: "p",
        action: "ALLOW",
        selector: { app: "web" },
        rules: [
          {
            from: [
              {
                principals: { values: ["cluster.local/ns/a/sa/x"] },
                namespaces: { notValues: ["b"] },
              },
            ],
            to: [
              {
                methods: { values: ["GET"] },
                paths: { values: ["/api*"] },
                ports: { values: ["8080"] },
              },
            ],
          },
        ],
      },
    });
  });
});
