// The proxy of the capture test's "pod", run inside its network namespace as gid (and uid) 1337:
// the real capture listeners, admin and status servers over a static snapshot (no control
// plane), with mesh security from a test CA. Prints "ready", then one JSON line per request
// record and per passthrough; reads "mode STRICT|PERMISSIVE" lines to change the app port's
// inbound policy.
import { createInterface } from "node:readline";
import { Registry } from "prom-client";
import { startAdminServer } from "../../../../mesh/admin/server.js";
import { startStatusServer } from "../../../../mesh/admin/status.js";
import { koffiReader } from "../../../../mesh/listeners/orig-dst.js";
import { createProxy } from "../../../../mesh/proxy.js";
import type { RoutingSnapshot } from "../../../../mesh/routing/model.js";
import type { InboundChain } from "../../../../mesh/routing/security-model.js";
import {
  inboundListenerName,
  TRUST_BUNDLE_SECRET,
} from "../../../../mesh/routing/security-model.js";
import { TlsMaterial } from "../../../../mesh/tls/material.js";
import { systemClock } from "../../../../src/common/clock.js";
import { silentLog } from "../harness.js";
import { testCa, workloadCertificate } from "../mesh-pki.js";
import { buildSnapshot } from "../snapshot-builder.js";

export interface PodProxyConfig {
  readonly podIP: string;
  readonly appPort: number;
  /** Service host → upstream endpoint (and whether it speaks h2c). */
  readonly services: readonly {
    readonly host: string;
    readonly port: number;
    readonly endpoint: { readonly address: string; readonly port: number };
    readonly http2: boolean;
  }[];
}

const config = JSON.parse(process.argv[2] ?? "{}") as PodProxyConfig;
const out = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v)}\n`);
};

const ca = testCa();
const cert = await workloadCertificate(ca, "shop", "reviews");
const base = buildSnapshot({
  vhosts: config.services.map((s) => ({
    domains: [s.host, `${s.host}:${String(s.port)}`],
    routes: [{ to: `outbound|${String(s.port)}||${s.host}` }],
  })),
  clusters: Object.fromEntries(
    config.services.map((s) => [
      `outbound|${String(s.port)}||${s.host}`,
      { endpoints: [s.endpoint], http2: s.http2 },
    ]),
  ),
});
const tls: InboundChain = {
  name: "mtls",
  transport: "tls",
  tls: { requireClientCertificate: true, validationSecret: TRUST_BUNDLE_SECRET },
  rbac: [],
};
const plain: InboundChain = { name: "plaintext", transport: "raw_buffer", rbac: [] };
const name = inboundListenerName(config.podIP, config.appPort);
const withMode = (chains: readonly InboundChain[]): RoutingSnapshot => ({
  ...base,
  inbound: new Map([[name, { name, address: config.podIP, port: config.appPort, chains }]]),
  secrets: new Map([[TRUST_BUNDLE_SECRET, { name: TRUST_BUNDLE_SECRET, trustedCa: ca.roots }]]),
});
let snapshot = withMode([tls, plain]);

const proxy = createProxy({
  role: "sidecar",
  namespace: "shop",
  snapshot: () => snapshot,
  clock: systemClock,
  log: silentLog,
  onRequestDone: (r) => {
    out({
      record: {
        direction: r.direction,
        authority: r.authority,
        status: r.status,
        cluster: r.upstreamCluster,
      },
    });
  },
  onPassthrough: (direction, reason) => {
    out({ passthrough: { direction, reason } });
  },
  security: {
    material: new TlsMaterial(
      () => cert,
      () => snapshot,
    ),
    handshakeTimeoutMs: 2_000,
  },
});
const settings = { reader: await koffiReader() };
await proxy.listenOutboundCapture(15001, "127.0.0.1", settings);
await proxy.listenInboundCapture(config.podIP, 15006, [config.appPort], settings);
const admin = await startAdminServer(
  {
    registry: new Registry(),
    ready: () => true,
    configDump: () => ({ listeners: [...snapshot.listeners.keys()] }),
    drain: () => proxy.drain(),
    exit: () => process.exit(0),
    log: silentLog,
  },
  { port: 15000 },
);
await startStatusServer(
  { registry: new Registry(), state: () => admin.state(), probes: new Map(), log: silentLog },
  { port: 15020, host: config.podIP },
);
createInterface({ input: process.stdin }).on("line", (line) => {
  const mode = line.replace(/^mode /, "");
  snapshot = withMode(mode === "STRICT" ? [tls] : [tls, plain]);
  out({ mode });
});
out({ ready: { uid: process.getuid?.(), gid: process.getgid?.() } });
