// The controller's settings, from flags with environment fallbacks, parsed once at start; a bad
// value stops the process with a message naming the setting.
import { parseArgs } from "node:util";
import { VireoError } from "../common/errors.js";
import type { LogLevel } from "../common/logger.js";
import { parseLogLevel } from "../common/logger.js";
import type { InjectConfig } from "../inject/config.js";
import { DEFAULT_INJECT_CONFIG } from "../inject/config.js";

export interface ControllerConfig {
  /** Path of a kubeconfig; in-cluster configuration when absent. */
  readonly kubeconfig: string | undefined;
  readonly xdsPort: number;
  readonly xdsHost: string;
  /**
   * UNSAFE: serves xDS in plaintext to anyone, with no certificate service. Only for protocol
   * conformance tests and clients that cannot authenticate yet.
   */
  readonly xdsInsecure: boolean;
  /** The controller Service's name, for the xDS server certificate (default "vireo"). */
  readonly xdsServiceName?: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly logLevel: LogLevel;
  readonly trustDomain: string;
  readonly prometheusUrl: string | undefined;
  /** Namespace of the leader-election Lease. */
  readonly namespace: string;
  /**
   * This controller's service account (in `namespace`): its token, or a certificate issued to it,
   * reads every namespace's clients through CSDS (docs/security.md). Absent: no caller does.
   */
  readonly serviceAccount?: string;
  readonly leaderElection: boolean;
  /** Only Rollouts in this namespace; every namespace when absent. */
  readonly watchNamespace: string | undefined;
  readonly identity: string;
  /** This replica's pod (POD_NAME in POD_NAMESPACE), when it runs in one. */
  readonly podName: string | undefined;
  /** An AlertProvider every Rollout also notifies, with its severity filter. */
  readonly defaultAlertProvider:
    | {
        readonly namespace: string;
        readonly name: string;
        readonly severity: "info" | "warn" | "error";
      }
    | undefined;
  /** Shown as the Cluster field of chat messages. */
  readonly clusterName: string | undefined;
  /** The injection webhook's HTTPS port (0: any free one); absent: no webhook (docs/injection.md). */
  readonly webhookPort?: number | undefined;
  /** Default 0.0.0.0. */
  readonly webhookHost?: string;
  /** The Service in front of the webhook port, for the serving certificate's names. */
  readonly webhookServiceName?: string;
  /** The MutatingWebhookConfiguration whose caBundle the controller keeps current. */
  readonly webhookConfigurationName?: string;
  /** What the injector adds (chart values `injection.*`, as JSON in --injection-config). */
  readonly injection?: InjectConfig;
  /**
   * How long after the first proxy reconnects a replica that has just begun serving xDS waits
   * before a route counts as confirmed (src/routing/xds-router.ts, RECONNECT_GRACE_MS when
   * absent); 0 turns the wait off, as the integration tests do.
   */
  readonly xdsReconnectGraceMs?: number;
  /** Rollouts reconciled at once (default 2). */
  readonly workers?: number;
}

const OPTIONS = {
  kubeconfig: { type: "string", env: "KUBECONFIG" },
  "xds-port": { type: "string", env: "VIREO_XDS_PORT", default: "15010" },
  "xds-host": { type: "string", env: "VIREO_XDS_HOST", default: "0.0.0.0" },
  "xds-service-name": { type: "string", env: "VIREO_XDS_SERVICE_NAME", default: "vireo" },
  "xds-insecure": { type: "string", env: "VIREO_XDS_INSECURE", default: "false" },
  "metrics-port": { type: "string", env: "VIREO_METRICS_PORT", default: "8080" },
  "metrics-host": { type: "string", env: "VIREO_METRICS_HOST", default: "0.0.0.0" },
  "log-level": { type: "string", env: "VIREO_LOG_LEVEL", default: "info" },
  "trust-domain": { type: "string", env: "VIREO_TRUST_DOMAIN", default: "cluster.local" },
  "prometheus-url": { type: "string", env: "VIREO_PROMETHEUS_URL" },
  namespace: { type: "string", env: "POD_NAMESPACE", default: "vireo-system" },
  "service-account": { type: "string", env: "POD_SERVICE_ACCOUNT", default: "vireo" },
  "watch-namespace": { type: "string", env: "VIREO_WATCH_NAMESPACE" },
  "leader-elect": { type: "string", env: "VIREO_LEADER_ELECT", default: "true" },
  identity: { type: "string", env: "POD_NAME" },
  "default-alert-provider": { type: "string", env: "VIREO_DEFAULT_ALERT_PROVIDER" },
  "default-alert-severity": {
    type: "string",
    env: "VIREO_DEFAULT_ALERT_SEVERITY",
    default: "info",
  },
  "cluster-name": { type: "string", env: "VIREO_CLUSTER_NAME" },
  "webhook-port": { type: "string", env: "VIREO_WEBHOOK_PORT" },
  "webhook-host": { type: "string", env: "VIREO_WEBHOOK_HOST", default: "0.0.0.0" },
  "webhook-service-name": {
    type: "string",
    env: "VIREO_WEBHOOK_SERVICE_NAME",
    default: "vireo-injector",
  },
  "webhook-configuration-name": {
    type: "string",
    env: "VIREO_WEBHOOK_CONFIGURATION_NAME",
    default: "vireo-sidecar-injector",
  },
  "injection-config": { type: "string", env: "VIREO_INJECTION_CONFIG", default: "{}" },
  workers: { type: "string", env: "VIREO_WORKERS", default: "2" },
} as const;

type Name = keyof typeof OPTIONS;

function port(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new VireoError("BadConfig", `--${name}: "${value}" is not a port number (0-65535)`);
  }
  return n;
}

function workers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new VireoError("BadConfig", `--workers: "${value}" is not a number of workers (1-64)`);
  }
  return n;
}

function bool(name: string, value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new VireoError("BadConfig", `--${name}: "${value}" must be true or false`);
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ControllerConfig {
  let values: Partial<Record<Name, string>>;
  try {
    ({ values } = parseArgs({
      args: bareSwitches(argv),
      options: Object.fromEntries(
        Object.keys(OPTIONS).map((k) => [k, { type: "string" as const }]),
      ),
      strict: true,
    }) as { values: Partial<Record<Name, string>> });
  } catch (err) {
    throw new VireoError("BadConfig", err instanceof Error ? err.message : String(err));
  }
  const get = (name: Name): string | undefined => {
    const o: { env: string; default?: string } = OPTIONS[name];
    return values[name] ?? env[o.env] ?? o.default;
  };
  const required = (name: Name): string => get(name) ?? "";
  let logLevel: LogLevel;
  try {
    logLevel = parseLogLevel(required("log-level"));
  } catch (err) {
    throw new VireoError(
      "BadConfig",
      `--log-level: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return {
    kubeconfig: get("kubeconfig"),
    xdsPort: port("xds-port", required("xds-port")),
    xdsHost: required("xds-host"),
    xdsInsecure: bool("xds-insecure", required("xds-insecure")),
    xdsServiceName: required("xds-service-name"),
    metricsPort: port("metrics-port", required("metrics-port")),
    metricsHost: required("metrics-host"),
    logLevel,
    trustDomain: required("trust-domain"),
    prometheusUrl: get("prometheus-url"),
    namespace: required("namespace"),
    serviceAccount: required("service-account"),
    leaderElection: bool("leader-elect", required("leader-elect")),
    watchNamespace: get("watch-namespace") === "" ? undefined : get("watch-namespace"),
    identity: get("identity") ?? `vireo-${process.pid}`,
    podName: env.POD_NAME === "" ? undefined : env.POD_NAME,
    defaultAlertProvider: alertProvider(
      get("default-alert-provider"),
      required("default-alert-severity"),
      required("namespace"),
    ),
    clusterName: get("cluster-name"),
    webhookPort: [undefined, ""].includes(get("webhook-port"))
      ? undefined
      : port("webhook-port", required("webhook-port")),
    webhookHost: required("webhook-host"),
    webhookServiceName: required("webhook-service-name"),
    webhookConfigurationName: required("webhook-configuration-name"),
    injection: parseInjectionConfig(required("injection-config"), required("namespace")),
    workers: workers(required("workers")),
  };
}

const INJECT_KEYS: ReadonlySet<string> = new Set([
  "proxyImage",
  "proxyImagePullPolicy",
  "xdsAddress",
  "logLevel",
  "resources",
  "version",
  "excludeInboundPorts",
  "excludeOutboundPorts",
  "excludeOutboundIPRanges",
]);

/** The chart's `injection` values as JSON over the defaults; unknown keys are an error. */
export function parseInjectionConfig(json: string, namespace: string): InjectConfig {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new VireoError("BadConfig", `--injection-config: not JSON: ${String(err)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new VireoError("BadConfig", "--injection-config: must be a JSON object");
  }
  const unknown = Object.keys(v).filter((k) => !INJECT_KEYS.has(k));
  if (unknown.length > 0) {
    throw new VireoError("BadConfig", `--injection-config: unknown key(s) ${unknown.join(", ")}`);
  }
  const merged = { ...DEFAULT_INJECT_CONFIG, ...v, controllerNamespace: namespace } as InjectConfig;
  for (const k of ["proxyImage", "xdsAddress", "logLevel", "version"] as const) {
    if (typeof merged[k] !== "string" || merged[k] === "") {
      throw new VireoError("BadConfig", `--injection-config: ${k} must be a non-empty string`);
    }
  }
  for (const k of ["excludeInboundPorts", "excludeOutboundPorts"] as const) {
    const ports: unknown = merged[k];
    if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) {
      throw new VireoError("BadConfig", `--injection-config: ${k} must be a list of ports`);
    }
  }
  const cidrs: unknown = merged.excludeOutboundIPRanges;
  if (!Array.isArray(cidrs) || !cidrs.every((c) => typeof c === "string")) {
    throw new VireoError(
      "BadConfig",
      "--injection-config: excludeOutboundIPRanges must be strings",
    );
  }
  return merged;
}

/** `--xds-insecure` alone means `--xds-insecure=true`; every other option takes a value. */
function bareSwitches(argv: readonly string[]): string[] {
  return argv.map((a, i) =>
    a === "--xds-insecure" && !["true", "false"].includes(argv[i + 1] ?? "") ? `${a}=true` : a,
  );
}

/** `ns/name` or `name` (in the controller's namespace), with severity info, warn or error. */
function alertProvider(
  ref: string | undefined,
  severity: string,
  namespace: string,
): ControllerConfig["defaultAlertProvider"] {
  if (ref === undefined || ref === "") return undefined;
  const sev = (["info", "warn", "error"] as const).find((s) => s === severity);
  if (sev === undefined) {
    throw new VireoError(
      "BadConfig",
      `--default-alert-severity: "${severity}" must be info, warn or error`,
    );
  }
  const [ns, name] = ref.includes("/") ? ref.split("/", 2) : [namespace, ref];
  if (ns === undefined || ns === "" || name === undefined || name === "") {
    throw new VireoError("BadConfig", `--default-alert-provider: "${ref}" is not NAMESPACE/NAME`);
  }
  return { namespace: ns, name, severity: sev };
}
