import assert from "node:assert/strict";
import type { ClusterLoadAssignment } from "../../../src/xds/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { LbEndpoint } from "../../../src/xds/generated/envoy/config/endpoint/v3/LbEndpoint.js";
import type { EndpointModel } from "../../../src/xds/model.js";
import { buildLoadAssignment } from "../../../src/xds/translate/endpoints.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { cluster, endpoint, endpoints, GRPC, HTTP, service, state } from "./translate-fixtures.js";

const NAME = "outbound|9898||podinfo.demo.svc.cluster.local";

const lb = (address: string, port = 8080): LbEndpoint => ({
  endpoint: { address: { socket_address: { address, port_value: port } } },
  health_status: "HEALTHY",
  load_balancing_weight: { value: 1 },
});

const locality = (zone: string, lbs: LbEndpoint[]) => ({
  locality: { zone },
  load_balancing_weight: { value: lbs.length },
  priority: 0,
  lb_endpoints: lbs,
});

const cases: {
  name: string;
  portName?: string;
  endpoints: EndpointModel[];
  want: ClusterLoadAssignment["endpoints"];
}[] = [
  { name: "no endpoints: an empty assignment", endpoints: [], want: [] },
  {
    name: "no zone: one locality with zone ''",
    endpoints: [endpoint("10.0.0.2"), endpoint("10.0.0.1")],
    want: [locality("", [lb("10.0.0.1"), lb("10.0.0.2")])],
  },
  {
    name: "zones sorted, locality weight = endpoint count",
    endpoints: [
      endpoint("10.0.0.3", { zone: "b" }),
      endpoint("10.0.0.9", { zone: "a" }),
      endpoint("10.0.0.1", { zone: "b" }),
    ],
    want: [locality("a", [lb("10.0.0.9")]), locality("b", [lb("10.0.0.1"), lb("10.0.0.3")])],
  },
  {
    name: "only ready endpoints",
    endpoints: [endpoint("10.0.0.1", { ready: false }), endpoint("10.0.0.2")],
    want: [locality("", [lb("10.0.0.2")])],
  },
  {
    name: "all endpoints unready: no localities",
    endpoints: [endpoint("10.0.0.1", { ready: false })],
    want: [],
  },
  {
    name: "the target port of the named Service port",
    portName: "grpc",
    endpoints: [endpoint("10.0.0.1")],
    want: [locality("", [lb("10.0.0.1", 9090)])],
  },
  {
    name: "endpoints without that port are left out",
    portName: "metrics",
    endpoints: [endpoint("10.0.0.1"), endpoint("10.0.0.2", { ports: { metrics: 9797 } })],
    want: [locality("", [lb("10.0.0.2", 9797)])],
  },
  {
    name: "non-IP and repeated addresses are left out (gRPC NACKs them)",
    endpoints: [
      endpoint("pod.example"),
      endpoint("10.0.0.1"),
      endpoint("10.0.0.1", { podName: "again" }),
      endpoint("fd00::1"),
    ],
    want: [locality("", [lb("10.0.0.1"), lb("fd00::1")])],
  },
];

describe("xDS translation: endpoints", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(buildLoadAssignment(NAME, c.portName ?? "http", c.endpoints), {
        cluster_name: NAME,
        endpoints: c.want,
      });
    });
  }

  it("gives every cluster an assignment, empty when the Service has no endpoints", () => {
    const set = translate(
      state({
        services: [service("a", [HTTP, GRPC]), service("b")],
        endpoints: [
          endpoints("a", [endpoint("10.0.0.1")]),
          endpoints("a", [endpoint("10.0.0.2")]),
          endpoints("unknown", [endpoint("10.0.0.3")]),
        ],
      }),
    );
    const summary = [...set.endpoints].map(([name, cla]) => [
      name,
      cla.cluster_name,
      cla.endpoints?.flatMap((l) =>
        (l.lb_endpoints ?? []).map((e) => {
          const sa = e.endpoint?.address?.socket_address;
          return `${sa?.address ?? ""}:${String(sa?.port_value)}`;
        }),
      ),
    ]);
    assert.deepEqual(summary, [
      [cluster("a"), cluster("a"), ["10.0.0.1:8080", "10.0.0.2:8080"]],
      [cluster("a", GRPC.port), cluster("a", GRPC.port), ["10.0.0.1:9090", "10.0.0.2:9090"]],
      [cluster("b"), cluster("b"), []],
    ]);
  });
});
