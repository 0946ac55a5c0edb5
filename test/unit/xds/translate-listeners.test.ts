import assert from "node:assert/strict";
import type { Listener } from "../../../src/xds/generated/envoy/config/listener/v3/Listener.js";
import type { ServiceModel } from "../../../src/xds/model.js";
import { OUTBOUND_HTTP_LISTENER, OUTBOUND_HTTP_ROUTE } from "../../../src/xds/names.js";
import { loadXdsProtos, typeUrlOf } from "../../../src/xds/protos.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  anyType,
  GRPC,
  HTTP,
  NS,
  packed,
  rc,
  SAMPLES,
  service,
  state,
} from "./translate-fixtures.js";

const codecs = loadXdsProtos().codecs;

function hcmOf(l: Listener | undefined) {
  const any = packed(l?.api_listener?.api_listener);
  assert.equal(any.type_url, typeUrlOf("HttpConnectionManager"));
  return codecs.HttpConnectionManager.deserialize(any.value);
}

const bare = (svc: string) => [
  `${svc}.${NS}.svc.cluster.local`,
  `${svc}.${NS}.svc`,
  `${svc}.${NS}`,
];
const withPort = (svc: string, port: number) => bare(svc).map((h) => `${h}:${port}`);
const owned = (names: string[], routeConfig: string): [string, string][] =>
  names.map((n) => [n, routeConfig]);

const cases: { name: string; services: ServiceModel[]; want: Record<string, string> }[] = [
  {
    name: "one port: names with and without the port",
    services: [service("podinfo")],
    want: Object.fromEntries(
      owned([...bare("podinfo"), ...withPort("podinfo", 9898)], rc("podinfo")),
    ),
  },
  {
    name: "two ports: names without a port belong to the lowest",
    services: [service("podinfo", [GRPC, HTTP])],
    want: Object.fromEntries([
      ...owned([...bare("podinfo"), ...withPort("podinfo", 9898)], rc("podinfo", 9898)),
      ...owned(withPort("podinfo", 9999), rc("podinfo", 9999)),
    ]),
  },
  {
    name: "port 80 takes the names without a port; TCP ports get no listener",
    services: [
      service("web", [
        { name: "redis", port: 6379, protocol: "tcp" },
        { name: "admin", port: 8080, protocol: "http" },
        { name: "http", port: 80, protocol: "http" },
      ]),
    ],
    want: Object.fromEntries([
      ...owned([...bare("web"), ...withPort("web", 80)], rc("web", 80)),
      ...owned(withPort("web", 8080), rc("web", 8080)),
    ]),
  },
];

describe("xDS translation: listeners", () => {
  for (const c of cases) {
    it(c.name, () => {
      const set = translate(state({ services: c.services }));
      const got = Object.fromEntries(
        [...set.listeners]
          .filter(([name]) => name !== OUTBOUND_HTTP_LISTENER)
          .map(([name, l]) => [name, l.routeConfigs.join(",")]),
      );
      assert.deepEqual(got, c.want);
      for (const [name, l] of set.listeners) {
        assert.equal(l.message.name, name);
        assert.equal(hcmOf(l.message).rds?.route_config_name, l.routeConfigs[0]);
      }
    });
  }

  it("is an API listener with ADS routes, the fault filter and the router last", () => {
    const set = translate(state({ services: [service("podinfo")] }));
    const l = set.listeners.get(`podinfo.${NS}:9898`)?.message;
    assert.deepEqual(Object.keys(l ?? {}).sort(), ["api_listener", "name"]);
    const hcm = hcmOf(l);
    assert.equal(hcm.stat_prefix, rc("podinfo"));
    assert.equal(hcm.rds?.config_source?.ads !== null, true);
    assert.equal(hcm.rds?.config_source?.resource_api_version, "V3");
    assert.deepEqual(
      hcm.http_filters.map((f) => [f.name, anyType(f.typed_config)]),
      [
        ["envoy.filters.http.fault", typeUrlOf("HTTPFault")],
        ["envoy.filters.http.router", typeUrlOf("Router")],
      ],
    );
  });

  it("has one outbound listener on the outbound route configuration", () => {
    const set = translate(state());
    assert.deepEqual([...set.listeners.keys()], [OUTBOUND_HTTP_LISTENER]);
    const l = set.listeners.get(OUTBOUND_HTTP_LISTENER);
    assert.deepEqual(l?.routeConfigs, [OUTBOUND_HTTP_ROUTE]);
    assert.equal(hcmOf(l.message).rds?.route_config_name, OUTBOUND_HTTP_ROUTE);
    assert.deepEqual(set.routes.get(OUTBOUND_HTTP_ROUTE), {
      name: OUTBOUND_HTTP_ROUTE,
      virtual_hosts: [],
    });
  });
});

describe("xDS translation: the outbound route configuration", () => {
  for (const s of SAMPLES) {
    it(`${s.name}: holds every port's routes under unique names and domains`, () => {
      const set = translate(s.state);
      const hosts = set.routes.get(OUTBOUND_HTTP_ROUTE)?.virtual_hosts ?? [];
      const perPort = [...set.routes].filter(([name]) => name !== OUTBOUND_HTTP_ROUTE);
      assert.deepEqual(
        hosts.map((h) => h.name),
        perPort.map(([name]) => name),
      );
      const domains = hosts.flatMap((h) => h.domains ?? []);
      assert.equal(
        new Set(domains).size,
        domains.length,
        `duplicate domains: ${domains.join(" ")}`,
      );
      for (const h of hosts) {
        const own = set.routes.get(h.name ?? "")?.virtual_hosts?.[0];
        assert.deepEqual(h.routes, own?.routes);
        assert.ok((h.domains ?? []).every((d) => own?.domains?.includes(d)));
        assert.ok((h.domains ?? []).length >= 3);
      }
    });
  }
});
