// Small hand-made resource sets for server tests: clusters, endpoints, one listener and route.
import type { ResourceSet, Snapshot } from "../../../src/xds/snapshot.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";
import { loadXdsProtos, typeUrlOf } from "../../../src/xds/protos.js";

export interface Fixture {
  readonly clusters: readonly string[];
  /** Cluster name -> weight, for the single route "r". */
  readonly weights: Readonly<Record<string, number>>;
}

export function resourceSet(f: Fixture): ResourceSet {
  const codecs = loadXdsProtos().codecs;
  const hcm = codecs.HttpConnectionManager.serialize({
    stat_prefix: "l",
    rds: { route_config_name: "r", config_source: { ads: {}, resource_api_version: "V3" } },
  });
  return {
    listeners: new Map([
      [
        "l",
        {
          message: {
            name: "l",
            api_listener: {
              api_listener: { type_url: typeUrlOf("HttpConnectionManager"), value: hcm },
            },
          },
          routeConfigs: ["r"],
        },
      ],
    ]),
    routes: new Map([
      [
        "r",
        {
          name: "r",
          virtual_hosts: [
            {
              name: "vh",
              domains: ["*"],
              routes: [
                {
                  match: { prefix: "/" },
                  route: {
                    weighted_clusters: {
                      clusters: Object.entries(f.weights).map(([name, w]) => ({
                        name,
                        weight: { value: w },
                      })),
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    ]),
    clusters: new Map(
      f.clusters.map((c) => [
        c,
        {
          message: {
            name: c,
            type: "EDS",
            eds_cluster_config: {
              eds_config: { ads: {}, resource_api_version: "V3" },
              service_name: c,
            },
          },
          edsName: c,
        },
      ]),
    ),
    endpoints: new Map(f.clusters.map((c) => [c, { cluster_name: c, endpoints: [] }])),
    secrets: new Map(),
  };
}

export function snapshot(version: number, f: Fixture): Snapshot {
  return buildSnapshot(version, resourceSet(f), loadXdsProtos().codecs);
}
