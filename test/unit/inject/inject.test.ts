import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { DEFAULT_INJECT_CONFIG } from "../../../src/inject/config.js";
import { injectPod, toJson } from "../../../src/inject/inject.js";
import { applyPatch } from "../../../src/inject/json-patch.js";

const config = { ...DEFAULT_INJECT_CONFIG, version: "1.2.3", proxyImage: "vireo/proxy:1.2.3" };

function pod(over: Partial<V1Pod["spec"]> = {}, meta: V1Pod["metadata"] = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "web-", namespace: "shop", ...meta },
    spec: {
      containers: [
        {
          name: "app",
          image: "app:1",
          ports: [
            { name: "http", containerPort: 8080 },
            { name: "dns", containerPort: 53, protocol: "UDP" },
          ],
          readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 3 },
          livenessProbe: { tcpSocket: { port: 8080 }, timeoutSeconds: 2 },
          startupProbe: { exec: { command: ["true"] } },
        },
      ],
      ...over,
    },
  };
}

const INIT = {
  name: "vireo-init",
  image: "vireo/proxy:1.2.3",
  imagePullPolicy: "IfNotPresent",
  args: [
    "capture",
    "--proxy-uid",
    "1337",
    "--proxy-gid",
    "1337",
    "--inbound-port",
    "15006",
    "--outbound-port",
    "15001",
    "--exclude-inbound-ports",
    "15020",
    "--exclude-outbound-ports",
    "",
    "--exclude-outbound-cidrs",
    "",
    "--include-outbound-cidrs",
    "*",
  ],
  securityContext: {
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
  },
};

const PROBES = {
  "/app-health/app/livez": { tcpSocket: { port: 8080 }, timeoutSeconds: 2 },
  "/app-health/app/readyz": { httpGet: { path: "/ready", port: 8080, scheme: "HTTP" } },
};

const PROXY = {
  name: "vireo-proxy",
  image: "vireo/proxy:1.2.3",
  imagePullPolicy: "IfNotPresent",
  restartPolicy: "Always",
  ports: [{ name: "vireo-status", containerPort: 15020, protocol: "TCP" }],
  env: [
    { name: "VIREO_XDS_ADDRESS", value: "vireo.vireo-system.svc:15010" },
    { name: "VIREO_CA_ROOT", value: "/var/run/secrets/vireo/ca/root-cert.pem" },
    { name: "VIREO_TOKEN_FILE", value: "/var/run/secrets/vireo/token/token" },
    { name: "VIREO_CAPTURE", value: "redirect" },
    { name: "VIREO_INBOUND_PORTS", value: "8080" },
    { name: "VIREO_APP_PROBES", value: JSON.stringify(PROBES) },
    { name: "VIREO_LOG_LEVEL", value: "info" },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "SERVICE_ACCOUNT", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
    {
      name: "VIREO_LABEL_VERSION",
      valueFrom: { fieldRef: { fieldPath: "metadata.labels['version']" } },
    },
  ],
  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  securityContext: {
    runAsUser: 1337,
    runAsGroup: 1337,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
  },
  startupProbe: {
    httpGet: { path: "/ready", port: 15020 },
    periodSeconds: 1,
    failureThreshold: 600,
  },
  readinessProbe: {
    httpGet: { path: "/ready", port: 15020 },
    periodSeconds: 2,
    failureThreshold: 30,
  },
  volumeMounts: [
    { name: "vireo-ca", mountPath: "/var/run/secrets/vireo/ca", readOnly: true },
    { name: "vireo-token", mountPath: "/var/run/secrets/vireo/token", readOnly: true },
  ],
};

const VOLUMES = [
  { name: "vireo-ca", configMap: { name: "vireo-ca-root-cert" } },
  {
    name: "vireo-token",
    projected: {
      sources: [
        { serviceAccountToken: { audience: "vireo", expirationSeconds: 3600, path: "token" } },
      ],
    },
  },
];

const STATUS = JSON.stringify({
  initContainers: ["vireo-init", "vireo-proxy"],
  volumes: ["vireo-ca", "vireo-token"],
  version: "1.2.3",
});

describe("injectPod", () => {
  it("a bare pod: the exact patch, parents created first", () => {
    const r = injectPod(pod(), undefined, config);
    assert.equal(r.skipped, undefined);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.patch, [
      {
        op: "add",
        path: "/metadata/annotations",
        value: {
          "sidecar.vireo.dev/status": STATUS,
          "prometheus.io/scrape": "true",
          "prometheus.io/port": "15020",
          "prometheus.io/path": "/stats/prometheus",
        },
      },
      {
        op: "replace",
        path: "/spec/containers/0/readinessProbe/httpGet/path",
        value: "/app-health/app/readyz",
      },
      { op: "replace", path: "/spec/containers/0/readinessProbe/httpGet/port", value: 15020 },
      { op: "add", path: "/spec/containers/0/readinessProbe/httpGet/scheme", value: "HTTP" },
      { op: "remove", path: "/spec/containers/0/livenessProbe/tcpSocket" },
      {
        op: "add",
        path: "/spec/containers/0/livenessProbe/httpGet",
        value: { path: "/app-health/app/livez", port: 15020, scheme: "HTTP" },
      },
      { op: "add", path: "/spec/initContainers", value: [INIT, PROXY] },
      { op: "add", path: "/spec/volumes", value: VOLUMES },
    ]);
    assert.deepEqual(applyPatch(toJson(pod()), r.patch), toJson(r.pod));
    // exec probes stay as they are; the rest of a probe is kept
    const app = r.pod.spec?.containers[0];
    assert.deepEqual(app?.startupProbe, { exec: { command: ["true"] } });
    assert.equal(app?.readinessProbe?.periodSeconds, 3);
    assert.deepEqual(app?.livenessProbe, {
      timeoutSeconds: 2,
      httpGet: { path: "/app-health/app/livez", port: 15020, scheme: "HTTP" },
    });
  });

  it("existing annotations, init containers and volumes: members added, user's init containers shifted", () => {
    const input = pod(
      {
        initContainers: [{ name: "migrate", image: "m:1" }],
        volumes: [{ name: "data", emptyDir: {} }],
        containers: [{ name: "app", image: "app:1" }],
      },
      { annotations: { "prometheus.io/port": "9090", team: "a/b" } },
    );
    const r = injectPod(input, undefined, config);
    const noProbes = JSON.stringify({});
    const proxy = {
      ...PROXY,
      env: PROXY.env.map((e) =>
        e.name === "VIREO_APP_PROBES"
          ? { ...e, value: noProbes }
          : e.name === "VIREO_INBOUND_PORTS"
            ? { ...e, value: "" }
            : e,
      ),
    };
    assert.deepEqual(r.patch, [
      { op: "replace", path: "/metadata/annotations/prometheus.io~1port", value: "15020" },
      { op: "add", path: "/metadata/annotations/sidecar.vireo.dev~1status", value: STATUS },
      { op: "add", path: "/metadata/annotations/prometheus.io~1scrape", value: "true" },
      { op: "add", path: "/metadata/annotations/prometheus.io~1path", value: "/stats/prometheus" },
      { op: "add", path: "/spec/initContainers/0", value: INIT },
      { op: "add", path: "/spec/initContainers/1", value: proxy },
      { op: "add", path: "/spec/volumes/-", value: VOLUMES[0] },
      { op: "add", path: "/spec/volumes/-", value: VOLUMES[1] },
    ]);
    assert.deepEqual(
      r.pod.spec?.initContainers?.map((c) => c.name),
      ["vireo-init", "vireo-proxy", "migrate"],
    );
    assert.deepEqual(applyPatch(toJson(input), r.patch), toJson(r.pod));
  });

  it("is idempotent: an injected pod is skipped with no patch", () => {
    const once = injectPod(pod(), undefined, config);
    const twice = injectPod(once.pod, undefined, config);
    assert.equal(twice.skipped?.code, "AlreadyInjected");
    assert.deepEqual(twice.patch, []);
    assert.equal(twice.pod, once.pod);
  });

  const skips: { name: string; input: V1Pod; ns?: Record<string, string>; code: string }[] = [
    { name: "hostNetwork", input: pod({ hostNetwork: true }), code: "HostNetwork" },
    {
      name: "opted out by annotation",
      input: pod({}, { annotations: { "vireo.dev/inject": "disabled" } }),
      code: "OptedOut",
    },
    {
      name: "a container already named vireo-proxy",
      input: pod({ containers: [{ name: "vireo-proxy", image: "x" }] }),
      code: "AlreadyInjected",
    },
    {
      name: "the controller's namespace",
      input: pod({}, { namespace: "vireo-system" }),
      code: "ControllerNamespace",
    },
    { name: "unlabelled namespace", input: pod(), ns: {}, code: "NotSelected" },
    {
      name: "a bad exclusion annotation",
      input: pod({}, { annotations: { "traffic.vireo.dev/excludeOutboundPorts": "80,http" } }),
      code: "BadAnnotation",
    },
    {
      name: "a bad CIDR",
      input: pod(
        {},
        { annotations: { "traffic.vireo.dev/excludeOutboundIPRanges": "10.0.0.300/8" } },
      ),
      code: "BadAnnotation",
    },
  ];
  for (const s of skips) {
    it(`skips: ${s.name}`, () => {
      const r = injectPod(s.input, s.ns, config);
      assert.equal(r.skipped?.code, s.code);
      assert.deepEqual(r.patch, []);
      assert.equal(r.pod, s.input);
    });
  }

  it("selection: labelled namespace, or pod label in an unlabelled one", () => {
    assert.equal(injectPod(pod(), { "vireo.dev/inject": "enabled" }, config).skipped, undefined);
    const optIn = pod({}, { labels: { "vireo.dev/inject": "enabled" } });
    assert.equal(injectPod(optIn, {}, config).skipped, undefined);
  });

  it("exclusions: config first, then the pod's annotations, passed to the capture step", () => {
    const input = pod(
      {},
      {
        annotations: {
          "traffic.vireo.dev/excludeInboundPorts": "9000, 15020",
          "traffic.vireo.dev/excludeOutboundPorts": "5432",
          "traffic.vireo.dev/excludeOutboundIPRanges": "10.244.0.1/32,192.168.0.0/16",
        },
      },
    );
    const r = injectPod(input, undefined, {
      ...config,
      excludeOutboundIPRanges: ["10.244.0.1/32"],
      excludeOutboundPorts: [25],
    });
    const args = r.pod.spec?.initContainers?.[0]?.args ?? [];
    const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
    assert.equal(flag("--exclude-inbound-ports"), "15020,9000");
    assert.equal(flag("--exclude-outbound-ports"), "25,5432");
    assert.equal(flag("--exclude-outbound-cidrs"), "10.244.0.1/32,192.168.0.0/16");
  });

  it("a probe on an undeclared named port is left unchanged, with a warning", () => {
    const r = injectPod(
      pod({
        containers: [
          { name: "app", image: "a", readinessProbe: { httpGet: { path: "/", port: "web" } } },
        ],
      }),
      undefined,
      config,
    );
    assert.equal(r.skipped, undefined);
    assert.deepEqual(r.pod.spec?.containers[0]?.readinessProbe, {
      httpGet: { path: "/", port: "web" },
    });
    assert.match(r.warnings[0] ?? "", /container app: readinessProbe names port "web"/);
  });
});
