// The status.parents entries vireo writes for a route on a Service: Accepted, ResolvedRefs and
// PartiallyInvalid with the reasons the Gateway API lists, at the route's generation.
import assert from "node:assert/strict";
import type { MeshRoute } from "../../../src/gateway/model.js";
import { MESH_CONTROLLER } from "../../../src/gateway/model.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";
import type { ServiceLookup } from "../../../src/gateway/route-status.js";
import { meshParentStatuses, mergeParentStatuses } from "../../../src/gateway/route-status.js";
import type { ServiceModel } from "../../../src/xds/model.js";

const T0 = "2026-12-04T10:00:00Z";
const T1 = "2026-12-04T11:00:00Z";
const svc = (name: string, ...ports: [string, number][]): ServiceModel => ({
  namespace: "demo",
  name,
  ports: ports.map(([n, port]) => ({ name: n, port, protocol: "http" })),
});
const SERVICES = [
  svc("podinfo", ["http", 9898]),
  svc("podinfo-primary", ["http", 9898]),
  svc("podinfo-canary", ["http", 9898]),
];
const lookup: ServiceLookup = (ns, name) =>
  SERVICES.find((s) => s.namespace === ns && s.name === name);

function route(spec: object, generation = 2): MeshRoute {
  const r = parseRoute({
    kind: "HTTPRoute",
    metadata: { namespace: "demo", name: "r", generation, creationTimestamp: T0 },
    spec,
  });
  assert.ok(r !== undefined);
  return r;
}

const backends = (...names: string[]) => names.map((name) => ({ name, port: 9898 }));
const conditions = (r: MeshRoute) =>
  meshParentStatuses(r, lookup, T1).map((e) =>
    Object.fromEntries(e.conditions.map((c) => [c.type, `${c.status}/${c.reason}`])),
  );

describe("gateway: route status for Service parents", () => {
  it("accepts a route on an existing Service port, with every reference resolved", () => {
    const r = route({
      parentRefs: [{ group: "", kind: "Service", name: "podinfo", port: 9898 }, { name: "edge" }],
      rules: [{ backendRefs: backends("podinfo-primary", "podinfo-canary") }],
    });
    const [entry, ...rest] = meshParentStatuses(r, lookup, T1);
    assert.equal(rest.length, 0, "no entry for the Gateway parent: not vireo's mesh");
    assert.deepEqual(entry?.parentRef, {
      group: "",
      kind: "Service",
      namespace: "demo",
      name: "podinfo",
      port: 9898,
    });
    assert.equal(entry?.controllerName, MESH_CONTROLLER);
    assert.deepEqual(
      entry?.conditions.map((c) => [
        c.type,
        c.status,
        c.reason,
        c.observedGeneration,
        c.lastTransitionTime,
      ]),
      [
        ["Accepted", "True", "Accepted", 2, T1],
        ["ResolvedRefs", "True", "ResolvedRefs", 2, T1],
      ],
    );
  });

  it("refuses a parent that is missing, or a port or port name the Service does not have", () => {
    const r = route({
      parentRefs: [
        { group: "", kind: "Service", name: "nope" },
        { group: "", kind: "Service", name: "podinfo", port: 80 },
        { group: "", kind: "Service", name: "podinfo", sectionName: "grpc" },
      ],
      rules: [{ backendRefs: backends("podinfo-primary") }],
    });
    const entries = meshParentStatuses(r, lookup, T1);
    assert.deepEqual(
      entries.map((e) => e.conditions.find((c) => c.type === "Accepted")?.message),
      [
        "Service demo/nope not found",
        "Service demo/podinfo has no port 80",
        "Service demo/podinfo has no port named grpc",
      ],
    );
    assert.deepEqual(
      conditions(r).map((c) => c.Accepted),
      ["False/NoMatchingParent", "False/NoMatchingParent", "False/NoMatchingParent"],
    );
  });

  it("does not accept a consumer route (another namespace): it is not applied yet", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: { namespace: "client", name: "r", generation: 3, creationTimestamp: T0 },
      spec: {
        parentRefs: [
          { group: "", kind: "Service", namespace: "demo", name: "podinfo", port: 9898 },
          { group: "", kind: "Service", namespace: "demo", name: "nope" },
        ],
        rules: [{ backendRefs: [{ namespace: "demo", name: "podinfo-primary", port: 9898 }] }],
      },
    });
    assert.ok(r !== undefined);
    const entries = meshParentStatuses(r, lookup, T1);
    assert.deepEqual(
      entries.map((e) => e.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)),
      [
        ["Accepted=False/UnsupportedValue", "ResolvedRefs=True/ResolvedRefs"],
        ["Accepted=False/NoMatchingParent", "ResolvedRefs=True/ResolvedRefs"],
      ],
    );
    assert.equal(
      entries[0]?.conditions[0]?.message,
      "consumer routes are not supported yet: this route (namespace client) is not applied to " +
        "Service demo/podinfo; only routes in the Service's own namespace are",
    );
  });

  it("reports a missing backend and a foreign kind apart from acceptance (InvalidKind first)", () => {
    const missing = route({
      parentRefs: [{ group: "", kind: "Service", name: "podinfo" }],
      rules: [{ backendRefs: backends("podinfo-primary", "gone") }],
    });
    assert.deepEqual(conditions(missing), [
      { Accepted: "True/Accepted", ResolvedRefs: "False/BackendNotFound" },
    ]);
    const kinds = route({
      parentRefs: [{ group: "", kind: "Service", name: "podinfo" }],
      rules: [
        {
          backendRefs: [...backends("gone"), { group: "example.com", kind: "Bucket", name: "b" }],
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: { name: "podinfo", port: 1 } } },
          ],
        },
      ],
    });
    const [entry] = meshParentStatuses(kinds, lookup, T1);
    const refs = entry?.conditions.find((c) => c.type === "ResolvedRefs");
    assert.equal(refs?.reason, "InvalidKind");
    assert.equal(
      refs?.message,
      "backendRef demo/gone: Service not found; backendRef demo/b: example.com/Bucket is not supported; " +
        "backendRef demo/podinfo: Service has no port 1",
    );
  });

  it("drops a rule it cannot implement (PartiallyInvalid), and refuses a route made only of such rules", () => {
    const parentRefs = [{ group: "", kind: "Service", name: "podinfo" }];
    const cors = {
      name: "cors",
      filters: [{ type: "CORS", cors: {} }],
      backendRefs: backends("gone"),
    };
    const partly = route({
      parentRefs,
      rules: [cors, { backendRefs: backends("podinfo-primary") }],
    });
    assert.deepEqual(conditions(partly), [
      {
        Accepted: "True/Accepted",
        PartiallyInvalid: "True/UnsupportedValue",
        ResolvedRefs: "True/ResolvedRefs", // the dropped rule's backends are not resolved
      },
    ]);
    const [entry] = meshParentStatuses(partly, lookup, T1);
    assert.equal(
      entry?.conditions.find((c) => c.type === "PartiallyInvalid")?.message,
      "Dropped Rule(s): rule 0 (cors): filter CORS is not supported",
    );
    const none = route({ parentRefs, rules: [cors] });
    assert.deepEqual(
      conditions(none).map((c) => c.Accepted),
      ["False/UnsupportedValue"],
    );
  });

  it("keeps a condition's lastTransitionTime while its status stays, and moves it when it changes", () => {
    const spec = {
      parentRefs: [{ group: "", kind: "Service", name: "podinfo" }],
      rules: [{ backendRefs: backends("gone") }],
    };
    const first = meshParentStatuses(route(spec, 1), lookup, T0);
    const fixed = route({ ...spec, rules: [{ backendRefs: backends("podinfo-primary") }] }, 2);
    const [entry] = meshParentStatuses(fixed, lookup, T1, first);
    assert.deepEqual(
      entry?.conditions.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]),
      [
        ["Accepted", T0, 2],
        ["ResolvedRefs", T1, 2],
      ],
    );
  });

  it("replaces only its own entries in status.parents", () => {
    const other = {
      controllerName: "example.com/gateway",
      parentRef: { name: "edge" },
      conditions: [],
    };
    const stale = { controllerName: MESH_CONTROLLER, parentRef: { name: "old" }, conditions: [] };
    const ours = meshParentStatuses(
      route({ parentRefs: [{ group: "", kind: "Service", name: "podinfo" }], rules: [] }),
      lookup,
      T1,
    );
    assert.deepEqual(mergeParentStatuses([other, stale], ours), [other, ...ours]);
  });
});
