// Writes a gRPC xDS bootstrap file (gRFC A27) naming one management server, for the conformance
// clients' GRPC_XDS_BOOTSTRAP. All three clients (grpc-js-xds, C-core, grpc-go) accept this shape;
// grpc-js-xds requires node.locality to be present.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BootstrapOptions {
  /** `host:port` of the xDS management server, e.g. `127.0.0.1:18000`. */
  serverUri: string;
  nodeId: string;
  /** node.cluster; default `vireo-conformance`. */
  cluster?: string;
  /** node.locality.zone; default `z`. */
  zone?: string;
  /** node.metadata (a google.protobuf.Struct as JSON). */
  metadata?: Record<string, unknown>;
  /** Default `["xds_v3"]`; add e.g. `ignore_resource_deletion`. */
  serverFeatures?: string[];
  /** Directory for the file; default a new temporary directory. */
  dir?: string;
}

export function bootstrapJson(o: BootstrapOptions): object {
  return {
    xds_servers: [
      {
        server_uri: o.serverUri,
        channel_creds: [{ type: "insecure" }],
        server_features: o.serverFeatures ?? ["xds_v3"],
      },
    ],
    node: {
      id: o.nodeId,
      cluster: o.cluster ?? "vireo-conformance",
      locality: { zone: o.zone ?? "z" },
      metadata: o.metadata ?? {},
    },
  };
}

/** Writes the bootstrap JSON and returns its path. */
export function writeBootstrap(o: BootstrapOptions): string {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "vireo-bootstrap-"));
  const path = join(dir, `bootstrap-${o.nodeId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
  writeFileSync(path, `${JSON.stringify(bootstrapJson(o), null, 2)}\n`);
  return path;
}
