// The proxy process: its xDS client, the request path, telemetry and the admin port. Runs as a
// sidecar next to a workload or as an ingress gateway; every setting is a flag or an env var.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type * as grpc from "@grpc/grpc-js";
import { systemClock } from "../src/common/clock.js";
import { describeError, VireoError } from "../src/common/errors.js";
import { createLogger, parseLogLevel } from "../src/common/logger.js";
import { routingSnapshotDump } from "./admin/config-dump.js";
import { parseAppProbes } from "./admin/app-probes.js";
import { startAdminServer } from "./admin/server.js";
import { startStatusServer } from "./admin/status.js";
import { JudgeCounts } from "./telemetry/judge-counts.js";
import { DEFAULT_DETECTION_TIMEOUT_MS } from "./listeners/capture.js";
import { DEFAULT_LIMITS } from "./listeners/http-listener.js";
import { koffiReader } from "./listeners/orig-dst.js";
import { createProxy } from "./proxy.js";
import type { ProxyRole } from "./proxy.js";
import { inboundListenerName } from "./routing/security-model.js";
import { identityFromEnv, spiffeId } from "./telemetry/identity.js";
import type { CaClient } from "./tls/ca-client.js";
import type { CertificateManager, WorkloadCertificate } from "./tls/cert-manager.js";
import { TlsMaterial } from "./tls/material.js";
import { controlPlaneCredentials, readToken, serviceAccountOfToken } from "./tls/token.js";
import { INBOUND_PORT, OUTBOUND_PORT, STATUS_PORT } from "../src/inject/names.js";
import { ProxyMetrics } from "./telemetry/metrics.js";
import { XdsClient } from "./xds-client/client.js";
import type { Transport } from "./xds-client/client.js";

interface InboundPort {
  readonly port: number;
  readonly targetPort: number;
}

/** `15006:8080,15007:9090` → listen on the pod IP at 15006, forward to 127.0.0.1:8080, … */
export function parseInbound(value: string): InboundPort[] {
  if (value.trim() === "") return [];
  return value.split(",").map((pair) => {
    const m = /^(\d+):(\d+)$/.exec(pair.trim());
    if (m === null)
      throw new VireoError("BadConfig", `--inbound: "${pair}" is not LISTEN_PORT:APP_PORT`);
    return { port: Number(m[1]), targetPort: Number(m[2]) };
  });
}

/** `9898,9090` → the app ports inbound capture serves. */
export function parsePorts(name: string, value: string): number[] {
  return value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "")
    .map((v) => port(name, v));
}

function milliseconds(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new VireoError("BadConfig", `--${name}: "${v}" is not a number of milliseconds`);
  return n;
}

/** A whole number, 0 included (0 turns a limit off). */
function wholeNumber(name: string, v: string, unit: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n < 0)
    throw new VireoError("BadConfig", `--${name}: "${v}" is not a number of ${unit}`);
  return n;
}

function port(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new VireoError("BadConfig", `--${name}: "${v}" is not a port`);
  return n;
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined)
    throw new VireoError("BadConfig", `--${name}: "${v}" is not one of ${allowed.join(", ")}`);
  return found;
}

/** The proxy's own certificate as the config dump shows it: identity and validity, no key. */
function certificateDump(c: WorkloadCertificate | undefined): unknown {
  if (c === undefined) return null;
  return {
    uri: c.uri,
    serial: c.serial,
    notBefore: new Date(c.notBefore).toISOString(),
    notAfter: new Date(c.notAfter).toISOString(),
  };
}

interface SecuritySettings {
  readonly credentials: grpc.ChannelCredentials;
  /** The name the controller's certificate is checked against when it is not the dialled host. */
  readonly channelOptions: grpc.ChannelOptions;
  readonly validitySeconds: number;
  /** Whom the token names, when it says (the CSR asks for that identity). */
  readonly tokenAccount?: { namespace: string; serviceAccount: string };
}

/** `--ca-root` turns security on; it then needs `--token` too. */
async function securitySettings(
  caRoot: string,
  tokenFile: string,
  validity: string,
  serverName: string,
): Promise<SecuritySettings | undefined> {
  if (caRoot === "") return undefined;
  if (tokenFile === "")
    throw new VireoError(
      "BadConfig",
      "--ca-root needs --token (the projected service-account token)",
    );
  const validitySeconds = Number(validity);
  if (!Number.isInteger(validitySeconds) || validitySeconds < 0)
    throw new VireoError("BadConfig", `--cert-validity: "${validity}" is not a number of seconds`);
  const rootPem = await readFile(caRoot, "utf8");
  const tokenAccount = serviceAccountOfToken(await readToken(tokenFile));
  return {
    credentials: controlPlaneCredentials(rootPem, tokenFile),
    channelOptions:
      serverName === ""
        ? {}
        : { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName },
    validitySeconds,
    ...(tokenAccount !== undefined && { tokenAccount }),
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      xds: { type: "string", default: env.VIREO_XDS_ADDRESS ?? "127.0.0.1:15010" },
      transport: { type: "string", default: env.VIREO_XDS_TRANSPORT ?? "delta" },
      role: { type: "string", default: env.VIREO_PROXY_ROLE ?? "sidecar" },
      "outbound-port": {
        type: "string",
        default: env.VIREO_OUTBOUND_PORT ?? String(OUTBOUND_PORT),
      },
      inbound: { type: "string", default: env.VIREO_INBOUND ?? "" },
      "pod-ip": { type: "string", default: env.POD_IP ?? "127.0.0.1" },
      "gateway-port": { type: "string", default: env.VIREO_GATEWAY_PORT ?? "8080" },
      "admin-port": { type: "string", default: env.VIREO_ADMIN_PORT ?? "15000" },
      "status-port": { type: "string", default: env.VIREO_STATUS_PORT ?? String(STATUS_PORT) },
      "app-probes": { type: "string", default: env.VIREO_APP_PROBES ?? "" },
      capture: { type: "string", default: env.VIREO_CAPTURE ?? "none" },
      "inbound-ports": { type: "string", default: env.VIREO_INBOUND_PORTS ?? "" },
      "inbound-capture-port": {
        type: "string",
        default: env.VIREO_INBOUND_CAPTURE_PORT ?? String(INBOUND_PORT),
      },
      "protocol-detection-timeout-ms": {
        type: "string",
        default: env.VIREO_PROTOCOL_DETECTION_TIMEOUT_MS ?? String(DEFAULT_DETECTION_TIMEOUT_MS),
      },
      "request-body-idle-timeout-ms": {
        type: "string",
        default:
          env.VIREO_REQUEST_BODY_IDLE_TIMEOUT_MS ?? String(DEFAULT_LIMITS.requestBodyIdleTimeoutMs),
      },
      "max-request-body-bytes": {
        type: "string",
        default: env.VIREO_MAX_REQUEST_BODY_BYTES ?? String(DEFAULT_LIMITS.maxRequestBodyBytes),
      },
      "log-level": { type: "string", default: env.VIREO_LOG_LEVEL ?? "info" },
      "ca-root": { type: "string", default: env.VIREO_CA_ROOT ?? "" },
      token: { type: "string", default: env.VIREO_TOKEN_FILE ?? "" },
      "cert-validity": { type: "string", default: env.VIREO_CERT_VALIDITY_SECONDS ?? "0" },
      "xds-server-name": { type: "string", default: env.VIREO_XDS_SERVER_NAME ?? "" },
    },
  });
  const role = oneOf<ProxyRole>("role", values.role, ["sidecar", "gateway"]);
  const transport = oneOf<Transport>("transport", values.transport, ["delta", "sotw"]);
  const inbound = parseInbound(values.inbound);
  const capture = oneOf("capture", values.capture, ["none", "redirect"] as const);
  const inboundPorts = parsePorts("inbound-ports", values["inbound-ports"]);
  const probes = parseAppProbes(values["app-probes"]);
  const limits = {
    requestBodyIdleTimeoutMs: wholeNumber(
      "request-body-idle-timeout-ms",
      values["request-body-idle-timeout-ms"],
      "milliseconds",
    ),
    maxRequestBodyBytes: wholeNumber(
      "max-request-body-bytes",
      values["max-request-body-bytes"],
      "bytes",
    ),
  };
  const clock = systemClock;
  const log = createLogger({ component: "proxy", level: parseLogLevel(values["log-level"]) });
  const identity = identityFromEnv(env);
  const podName = env.POD_NAME ?? `proxy-${process.pid}`;
  const metrics = new ProxyMetrics();
  const judgeCounts = new JudgeCounts();
  const secured = await securitySettings(
    values["ca-root"],
    values.token,
    values["cert-validity"],
    values["xds-server-name"],
  );
  const podIP = values["pod-ip"];
  const inboundNames =
    secured === undefined || role !== "sidecar"
      ? []
      : [
          ...inbound.map((p) => inboundListenerName(podIP, p.port)),
          ...(capture === "redirect" ? inboundPorts.map((p) => inboundListenerName(podIP, p)) : []),
        ];

  const xds = new XdsClient({
    log: log.child({ component: "xds-client" }),
    clock,
    server: values.xds,
    transport,
    ...(secured !== undefined && {
      credentials: secured.credentials,
      channelOptions: secured.channelOptions,
    }),
    namedListeners: inboundNames,
    node: {
      id: `${role}~${values["pod-ip"]}~${podName}.${identity.namespace}~${identity.namespace}.svc.${identity.domain}`,
      cluster: `${identity.workload}.${identity.namespace}`,
      metadata: {
        NAMESPACE: identity.namespace,
        WORKLOAD_NAME: identity.workload,
        SERVICE_ACCOUNT: identity.serviceAccount,
        POD_NAME: podName,
      },
    },
  });
  metrics.reportXds(() => xds.health());
  let certificates: CertificateManager | undefined;
  let ca: CaClient | undefined;
  if (secured !== undefined) {
    // Loaded only with mesh security: the CA client's proto-loader (protobufjs) and the CSR's
    // node-forge are 3 MB of RSS a proxy without security never needs (docs/benchmarks.md).
    const [{ createCaClient }, { CertificateManager }] = await Promise.all([
      import("./tls/ca-client.js"),
      import("./tls/cert-manager.js"),
    ]);
    ca = createCaClient(values.xds, secured.credentials, undefined, secured.channelOptions);
    certificates = new CertificateManager({
      clock,
      log: log.child({ component: "certificates" }),
      issue: ca.issue,
      spiffeId: spiffeId(
        secured.tokenAccount === undefined ? identity : { ...identity, ...secured.tokenAccount },
      ),
      validitySeconds: secured.validitySeconds,
    });
  }
  const certs = certificates;
  const material =
    certs === undefined
      ? undefined
      : new TlsMaterial(
          () => certs.current(),
          () => xds.current(),
        );
  const proxy = createProxy({
    role,
    limits,
    namespace: identity.namespace,
    snapshot: () => xds.current(),
    clock,
    log,
    identity,
    onRequestDone: (record) => {
      metrics.recordRequest(record, identity);
      judgeCounts.record(record);
    },
    onPassthrough: (direction, reason) => {
      metrics.countPassthrough(direction, reason);
    },
    ...(material !== undefined && { security: { material } }),
  });
  let bound = false;
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    xds.close();
    certs?.close();
    ca?.close();
    void proxy.close().finally(() => process.exit(code));
  };
  const admin = await startAdminServer(
    {
      registry: metrics.registry,
      ready: () => bound,
      configDump: () => ({
        xds: xds.status(),
        snapshot: routingSnapshotDump(xds.current()),
        ...(certs !== undefined && { certificate: certificateDump(certs.current()) }),
      }),
      drain: () => proxy.drain(),
      exit: () => {
        exit(0);
      },
      log,
      clock,
      drainTimeoutMs: 30_000,
    },
    // Loopback only: config_dump, drain and quitquitquit live here (the status port serves the rest).
    { port: port("admin-port", values["admin-port"]), host: "127.0.0.1" },
  );
  // The pod IP's only listener: readiness, metrics and the app's rewritten probes.
  const status = await startStatusServer(
    { registry: metrics.registry, state: () => admin.state(), probes, log, judgeCounts },
    { port: port("status-port", values["status-port"]), host: podIP },
  );
  xds.start();
  if (certs !== undefined) {
    certs.start();
    await certs.ready;
  }
  await xds.synced();
  const listening = [];
  if (role === "gateway") {
    listening.push(
      await proxy.listenGateway(port("gateway-port", values["gateway-port"]), "0.0.0.0"),
    );
  } else if (capture === "redirect") {
    const settings = {
      reader: await koffiReader(),
      detectionTimeoutMs: milliseconds(
        "protocol-detection-timeout-ms",
        values["protocol-detection-timeout-ms"],
      ),
      // Without mesh security unlisted inbound ports pass through to 127.0.0.1:P; never these.
      reservedPorts: [admin.port, port("outbound-port", values["outbound-port"])],
    };
    listening.push(
      await proxy.listenOutboundCapture(
        port("outbound-port", values["outbound-port"]),
        "127.0.0.1",
        settings,
      ),
      await proxy.listenInboundCapture(
        podIP,
        port("inbound-capture-port", values["inbound-capture-port"]),
        inboundPorts,
        settings,
      ),
    );
    for (const p of inbound)
      listening.push(await proxy.listenInbound(values["pod-ip"], p.port, p.targetPort));
  } else {
    listening.push(
      await proxy.listenOutbound(port("outbound-port", values["outbound-port"]), "127.0.0.1"),
    );
    for (const p of inbound)
      listening.push(await proxy.listenInbound(values["pod-ip"], p.port, p.targetPort));
  }
  bound = true;
  log.info("proxy ready", {
    role,
    xds: values.xds,
    security: secured === undefined ? "off (plaintext xDS, open inbound ports)" : "mTLS",
    admin: `${admin.address}:${admin.port}`,
    status: `${status.address}:${status.port}`,
    capture,
    listeners: listening.map((l) => `${l.name}@${l.address}:${l.port}`),
  });

  const shutdown = (signal: string): void => {
    log.info("draining", { signal });
    // Finish what is in flight, but never hang a pod's termination past its grace period.
    const deadline = setTimeout(() => {
      exit(0);
    }, 25_000);
    deadline.unref();
    void proxy.drain().finally(() => {
      exit(0);
    });
  };
  process.on("SIGTERM", () => {
    shutdown("SIGTERM");
  });
  process.on("SIGINT", () => {
    shutdown("SIGINT");
  });
}

// `main.ts capture …` is the init container's step; loaded only then, so the proxy never loads it.
const entry =
  process.argv[2] === "capture"
    ? import("./capture/run.js").then((m) => m.captureMain(process.argv.slice(3)))
    : main();
entry.catch((err: unknown) => {
  process.stderr.write(
    `vireo ${process.argv[2] === "capture" ? "capture" : "proxy"}: ${describeError(err)}\n`,
  );
  process.exit(1);
});
