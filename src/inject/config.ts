// What the injector adds that is not fixed by the contract: the proxy's image, resources, log
// level, where it finds the control plane, and capture exclusions applied to every pod. The chart
// values (charts/vireo/values.yaml `injection`) become controller flags that fill this in; the
// defaults here are the chart's defaults, which `vireo inject` uses offline.
import type { V1ResourceRequirements } from "@kubernetes/client-node";

export interface InjectConfig {
  /** repository:tag of the proxy (also runs the capture step). */
  readonly proxyImage: string;
  readonly proxyImagePullPolicy: string | undefined;
  /** host:port of the controller's xDS and certificate service, as the proxy dials it. */
  readonly xdsAddress: string;
  readonly logLevel: string;
  readonly resources: V1ResourceRequirements;
  /** Pods of this namespace are never injected (the controller's own: no restart deadlock). */
  readonly controllerNamespace: string;
  /** Recorded in the status annotation. */
  readonly version: string;
  /** Applied to every pod, before the pod's own `traffic.vireo.dev/*` annotations. */
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly excludeOutboundIPRanges: readonly string[];
}

export const DEFAULT_INJECT_CONFIG: InjectConfig = {
  proxyImage: "vireo/proxy:0.1.0",
  proxyImagePullPolicy: "IfNotPresent",
  xdsAddress: "vireo.vireo-system.svc:15010",
  logLevel: "info",
  resources: {
    requests: { cpu: "50m", memory: "64Mi" },
    limits: { memory: "256Mi" },
  },
  controllerNamespace: "vireo-system",
  version: "0.1.0",
  excludeInboundPorts: [],
  excludeOutboundPorts: [],
  excludeOutboundIPRanges: [],
};
