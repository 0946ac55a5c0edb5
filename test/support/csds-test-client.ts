// A CSDS client for unit tests of the server: FetchClientStatus with its trailing metadata, and
// StreamClientStatus answering request by request. Resources come decoded (proto-loader's json
// option turns each Any into its message with "@type").
import * as grpc from "@grpc/grpc-js";
import type { ClientStatusDiscoveryServiceClient } from "../../src/xds/generated/envoy/service/status/v3/ClientStatusDiscoveryService.js";
import type { ClientStatusRequest } from "../../src/xds/generated/envoy/service/status/v3/ClientStatusRequest.js";
import type { ClientStatusResponse__Output } from "../../src/xds/generated/envoy/service/status/v3/ClientStatusResponse.js";
import { loadXdsProtos } from "../../src/xds/protos.js";

/** One resource entry as a test reads it. */
export interface Entry {
  readonly type: string;
  readonly name: string;
  readonly version: string;
  readonly config: string;
  readonly client: string;
  /** The decoded resource's own name, when the entry carries its contents. */
  readonly content?: string;
  readonly error?: { readonly details: string; readonly version: string; readonly failed?: string };
}

export interface Fetched {
  readonly response: ClientStatusResponse__Output;
  readonly trailers: Readonly<Record<string, string>>;
}

/** The name inside a decoded Any (a ClusterLoadAssignment names its cluster). */
function nameIn(any: unknown): string | undefined {
  if (any === null || typeof any !== "object") return undefined;
  const m = any as { name?: unknown; cluster_name?: unknown };
  const n = m.name ?? m.cluster_name;
  return typeof n === "string" ? n : undefined;
}

/** The short name of a type URL: `type.googleapis.com/envoy.config.cluster.v3.Cluster` → Cluster. */
const short = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf(".") + 1);

/** Each client's entries by node id. */
export function entriesByNode(res: ClientStatusResponse__Output): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  for (const c of res.config) {
    const entries = c.generic_xds_configs.map((g) => {
      const content = nameIn(g.xds_config);
      const failed = nameIn(g.error_state?.failed_configuration);
      return {
        type: short(g.type_url),
        name: g.name,
        version: g.version_info,
        config: g.config_status,
        client: g.client_status,
        ...(content === undefined ? {} : { content }),
        ...(g.error_state === null
          ? {}
          : {
              error: {
                details: g.error_state.details,
                version: g.error_state.version_info,
                ...(failed === undefined ? {} : { failed }),
              },
            }),
      };
    });
    out.set(c.node?.id ?? "", entries);
  }
  return out;
}

export class CsdsTestClient {
  private readonly client: ClientStatusDiscoveryServiceClient;

  constructor(port: number) {
    const Ctor = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
    this.client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
  }

  fetch(req: ClientStatusRequest = {}): Promise<Fetched> {
    return new Promise((resolve, reject) => {
      let response: ClientStatusResponse__Output | undefined;
      const call = this.client.FetchClientStatus(req, (err, res) => {
        if (err !== null) reject(err);
        else response = res;
      });
      call.on("status", (s: grpc.StatusObject) => {
        if (response === undefined) return;
        const trailers: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.metadata.getMap())) trailers[k] = String(v);
        resolve({ response, trailers });
      });
    });
  }

  /** Sends every request on one stream at once, and resolves with an answer to each, in order. */
  stream(reqs: readonly ClientStatusRequest[]): Promise<ClientStatusResponse__Output[]> {
    return new Promise((resolve, reject) => {
      const call = this.client.StreamClientStatus();
      const answers: ClientStatusResponse__Output[] = [];
      call.on("data", (res: ClientStatusResponse__Output) => {
        answers.push(res);
        if (answers.length === reqs.length) {
          call.end();
          resolve(answers);
        }
      });
      call.on("error", reject);
      for (const r of reqs) call.write(r);
    });
  }

  close(): void {
    this.client.close();
  }
}
