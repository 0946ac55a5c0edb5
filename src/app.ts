// The controller's composition root: clients, the xDS control plane (served by the leader),
// and the Rollout controller (run by the leader). main.ts and the integration tests start it.
import { KubeProxyDirectory, listedPods } from "./analysis/kube-proxy-directory.js";
import { ProxyCounts } from "./analysis/proxy-counts.js";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
} from "@kubernetes/client-node";
import { HttpWebhookRunner } from "./analysis/webhooks.js";
import { systemClock } from "./common/clock.js";
import { createLogger } from "./common/logger.js";
import type { ControllerConfig } from "./config/config.js";
import { LeaderElector } from "./kube/leader-election.js";
import { Inquiries } from "./reconciler/inquiries.js";
import { markServing } from "./kube/serving-label.js";
import { KubeRolloutEvents } from "./kube/rollout-events.js";
import { EventWebhookRecorder } from "./kube/event-webhooks.js";
import { RolloutStore } from "./kube/rollout-store.js";
import { Dispatcher, notificationsCounter } from "./notify/dispatcher.js";
import { recordNotificationFailure } from "./notify/failure-event.js";
import { KubeNotifier } from "./notify/kube-notifier.js";
import { builtInServices } from "./notify/registry.js";
import { StatusSentLog } from "./notify/sent-log.js";
import { startMetricsServer } from "./observability/http.js";
import { ControllerMetrics } from "./observability/metrics.js";
import { RolloutController } from "./reconciler/controller.js";
import { NO_PROMETHEUS, RunnerAnalysis } from "./reconciler/ports.js";
import { PrometheusClient } from "./analysis/prometheus.js";
import { MetricAnalysisRunner } from "./analysis/runner.js";
import { KubeTemplateResolver } from "./analysis/template-resolver.js";
import type { TrafficRouter } from "./routing/traffic-router.js";
import {
  RECONNECT_GRACE_MS,
  RECONNECT_MAX_WAIT_MS,
  XdsTrafficRouter,
} from "./routing/xds-router.js";
import {
  certificateServiceDefinition,
  certificateServiceHandlers,
} from "./pki/certificate-service.js";
import { ControllerSecurity } from "./pki/security.js";
import { loadXdsProtos } from "./xds/protos.js";
import { XdsServer } from "./xds/server/xds-server.js";
import { producerRoutesByService, servicesRoutingTo } from "./xds/translate/producer-routes.js";
import { translate } from "./xds/translate/translate.js";
import type { ClusterState } from "./xds/model.js";
import { RouteStatusWriter } from "./gateway/route-status-writer.js";
import { KubeClusterWatch } from "./xds/watch/kube-watch.js";
import { PolicyWatch } from "./xds/watch/policy-watch.js";
import { namesService, proxyMayBeRunning, runningProxyPods } from "./xds/watch/proxy-presence.js";
import { SnapshotBuilder } from "./xds/watch/snapshot-builder.js";
import { KubeWorkload } from "./workloads/workload.js";
import { Injector } from "./inject/injector.js";
import { WEBHOOK_CONFIGURATION } from "./inject/ca-bundle.js";
import { DEFAULT_INJECT_CONFIG } from "./inject/config.js";

/**
 * Checks and gate webhooks running at once across all Rollouts (each Prometheus query and webhook
 * has its own timeout); past it they wait their turn, never holding a reconcile worker.
 */
const INQUIRY_CONCURRENCY = 16;

export interface RunningController {
  readonly xdsPort: number;
  readonly metricsPort: number;
  /** The injection webhook's port; undefined when it is off. */
  readonly webhookPort: number | undefined;
  readonly xds: XdsServer;
  /** The routing this controller serves, per Service. */
  readonly traffic: TrafficRouter;
  /**
   * The last-resort guard main.ts installs for promise rejections nothing handled: each is logged
   * with its stack and counted (vireo_unhandled_rejections_total), never silently dropped. Known
   * API failure paths retry on their own; this only keeps a missed one from ending the process.
   */
  unhandledRejection(reason: unknown): void;
  /** Stops everything, finishing in-flight reconciles and releasing the lease. */
  stop(): Promise<void>;
}

export async function startController(
  config: ControllerConfig,
  onLostLeadership: () => void,
): Promise<RunningController> {
  const clock = systemClock;
  const log = createLogger({ component: "controller", level: config.logLevel });
  const kc = new KubeConfig();
  if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const metrics = new ControllerMetrics();
  // Aborts the back-off of API calls still being retried when the controller stops.
  const stopped = new AbortController();
  const retry = { clock, failures: metrics.kubeApiFailures };

  // Identity: the CA (from Secret vireo-ca), TLS and authentication of the xDS port, and the root
  // ConfigMaps. --xds-insecure leaves all of it out (plaintext, anonymous, no mTLS in the mesh).
  let onTrustBundle: () => void = () => undefined;
  const security = config.xdsInsecure
    ? undefined
    : await ControllerSecurity.start({
        core: kc.makeApiClient(CoreV1Api),
        authn: kc.makeApiClient(AuthenticationV1Api),
        clock,
        log: log.child({ component: "pki" }),
        namespace: config.namespace,
        trustDomain: config.trustDomain,
        serviceName: config.xdsServiceName ?? "vireo",
        xdsHost: config.xdsHost,
        onlyNamespace: config.watchNamespace,
        onTrustBundle: () => {
          onTrustBundle();
        },
      });
  if (security === undefined) log.warn("xDS is served in plaintext to anyone (--xds-insecure)");
  else metrics.watchCa(() => security.expiry());

  // The control plane: every replica keeps its own watch of the cluster; the leader serves it.
  const xds = new XdsServer({
    log: log.child({ component: "xds" }),
    clock,
    ...(security === undefined ? {} : { auth: security.authenticator }),
    ...(config.serviceAccount === undefined
      ? {}
      : { admin: { namespace: config.namespace, serviceAccount: config.serviceAccount } }),
    // Only with a CA are pods watched (below); without, a proxy that leaves is forgotten.
    mayStillRoute: (nodeId) => {
      const pods = policies;
      return pods !== undefined && proxyMayBeRunning(nodeId, (ns, name) => pods.pod(ns, name));
    },
  });
  if (security !== undefined) {
    xds.addService(
      certificateServiceDefinition(),
      certificateServiceHandlers({
        authority: security.authority,
        authenticator: security.authenticator,
        trustDomain: config.trustDomain,
        log: log.child({ component: "pki" }),
      }),
    );
  }
  xds.onEvent((e) => {
    metrics.onXdsEvent(e);
  });
  let watch: KubeClusterWatch | undefined = undefined;
  let policies: PolicyWatch | undefined = undefined;
  // Pods and policies matter only with a CA: without one nothing carries TLS or RBAC.
  const withSecurity = (state: ClusterState): ClusterState =>
    security === undefined || policies === undefined
      ? state
      : {
          ...state,
          pods: policies.podModels(),
          security: {
            trustBundle: security.trustBundle(),
            trustDomain: config.trustDomain,
            rootNamespace: config.namespace,
            peerAuthentications: policies.peerAuthentications(),
            authorizationPolicies: policies.authorizationPolicies(),
          },
        };
  let router: XdsTrafficRouter | undefined = undefined;
  const builder = new SnapshotBuilder({
    clock,
    log: log.child({ component: "xds" }),
    codecs: loadXdsProtos().codecs,
    translate: (s) => translate(s),
    state: () =>
      withSecurity({
        ...(watch?.state() ?? { services: [], endpoints: [], routing: [] }),
        routes: routeStatus.routes(),
      }),
    publish: (s) => {
      xds.setSnapshot(s);
      router?.published(s);
      metrics.xdsSnapshots.inc();
      metrics.xdsSnapshotVersion.set(s.version);
    },
  });
  const routeStatus = new RouteStatusWriter({
    kc,
    log: log.child({ component: "gateway-api" }),
    clock,
    failures: metrics.kubeApiFailures,
    services: () => watch?.serviceModels() ?? [],
    onRoutes: () => {
      builder.changed();
    },
  });
  watch = new KubeClusterWatch(
    kc,
    log.child({ component: "xds-watch" }),
    () => {
      builder.changed();
      routeStatus.changed();
    },
    retry,
  );
  if (security !== undefined) {
    policies = new PolicyWatch(
      kc,
      log.child({ component: "xds-watch" }),
      () => {
        builder.changed();
      },
      retry,
    );
  }
  const sink = watch;
  const podWatch = policies;
  const xdsService = config.xdsServiceName ?? "vireo";
  router = new XdsTrafficRouter(
    {
      // The proxies told to dial this controller's xDS Service by name (the injector's default).
      ...(podWatch === undefined
        ? {}
        : {
            proxyPods: () =>
              runningProxyPods(podWatch.podsIn(config.watchNamespace), (address) =>
                namesService(address, config.namespace, xdsService),
              ),
          }),
      setRouting: (n, s, r) => {
        sink.setRouting(n, s, r);
      },
      services: () => sink.serviceModels(),
      endpoints: () => sink.endpointModels(),
      routedFrom: (n, s) => servicesRoutingTo(routeStatus.routes(), n, s),
      routesBinding: (n, s) =>
        (producerRoutesByService(routeStatus.routes()).get(`${n}/${s}`) ?? []).map(
          (r) => `${r.kind} ${r.namespace}/${r.name}`,
        ),
    },
    xds,
    {
      now: () => clock.now(),
      reconnectGraceMs: config.xdsReconnectGraceMs ?? RECONNECT_GRACE_MS,
      reconnectMaxWaitMs: RECONNECT_MAX_WAIT_MS,
    },
  );

  const podCache = policies;
  const webhooks = new HttpWebhookRunner(log.child({ component: "webhooks" }));
  // Every Event recorded on a Rollout also goes to its `event` webhooks (fire-and-forget).
  const events = new EventWebhookRecorder(
    new KubeRolloutEvents(kc.makeApiClient(CoreV1Api), log, config.identity),
    webhooks,
    clock,
    log.child({ component: "webhooks" }),
  );
  const store = new RolloutStore(kc.makeApiClient(CustomObjectsApi));
  let requeue: (namespace: string, name: string) => void = () => undefined;
  const sentLog = new StatusSentLog((k) => {
    requeue(k.namespace, k.name);
  });
  const dispatcher = new Dispatcher({
    clock,
    log: log.child({ component: "notify" }),
    sentLog,
    counter: notificationsCounter(metrics.registry),
    onFailure: (f) => {
      void recordNotificationFailure(f, {
        store,
        events,
        clock,
        log: log.child({ component: "notify" }),
        failures: metrics.kubeApiFailures,
        signal: stopped.signal,
      });
    },
  });
  const notifier = new KubeNotifier({
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    dispatcher,
    services: builtInServices(),
    clock,
    log: log.child({ component: "notify" }),
    ...(config.defaultAlertProvider === undefined
      ? {}
      : { defaultProvider: config.defaultAlertProvider }),
    ...(config.clusterName === undefined ? {} : { message: { clusterName: config.clusterName } }),
  });
  const controller = new RolloutController({
    kc,
    metrics,
    watchNamespace: config.watchNamespace,
    ...(config.workers === undefined ? {} : { workers: config.workers }),
    deps: {
      clock,
      log: log.child({ component: "reconciler" }),
      store,
      workload: new KubeWorkload(
        kc.makeApiClient(AppsV1Api),
        kc.makeApiClient(CoreV1Api),
        KubernetesObjectApi.makeApiClient(kc),
      ),
      traffic: router,
      analysis: new RunnerAnalysis(
        new MetricAnalysisRunner({
          prometheus:
            config.prometheusUrl === undefined
              ? NO_PROMETHEUS
              : new PrometheusClient({ address: config.prometheusUrl, clock }),
          webhooks,
          // The judge reads the proxies themselves: no Prometheus needed, no scrape interval.
          // From the pod informer the security translation keeps, rather than a list call per
          // Rollout every second; without mesh security there is no informer to read.
          counts: new ProxyCounts(
            new KubeProxyDirectory(
              podCache === undefined
                ? listedPods(kc.makeApiClient(CoreV1Api))
                : (namespace) => podCache.podsIn(namespace),
            ),
          ),
          log: log.child({ component: "analysis" }),
        }),
        new KubeTemplateResolver(kc.makeApiClient(CustomObjectsApi), kc.makeApiClient(CoreV1Api))
          .resolve,
      ),
      webhooks,
      inquiries: new Inquiries({
        clock,
        concurrency: INQUIRY_CONCURRENCY,
        answered: (rollout) => {
          const [namespace = "", name = ""] = rollout.split("/");
          requeue(namespace, name);
        },
      }),
      notifier,
      sentLog,
      events,
    },
  });
  requeue = (namespace, name) => {
    controller.requeue(namespace, name);
  };

  // The injection webhook: every replica serves it (stateless); it needs the CA for its port.
  let injector: Injector | undefined = undefined;
  if (config.webhookPort !== undefined) {
    if (security === undefined) {
      log.warn("no injection webhook: it needs the CA, which --xds-insecure turns off");
    } else {
      injector = await Injector.start({
        authority: security.authority,
        trustBundle: () => security.trustBundle(),
        admission: kc.makeApiClient(AdmissionregistrationV1Api),
        clock,
        log: log.child({ component: "inject" }),
        port: config.webhookPort,
        host: config.webhookHost ?? "0.0.0.0",
        namespace: config.namespace,
        serviceName: config.webhookServiceName ?? "vireo-injector",
        configurationName: config.webhookConfigurationName ?? WEBHOOK_CONFIGURATION,
        config: config.injection ?? {
          ...DEFAULT_INJECT_CONFIG,
          controllerNamespace: config.namespace,
        },
      });
    }
  }
  onTrustBundle = () => {
    builder.changed();
    injector?.rootsChanged();
  };
  // No replica serves configuration before it leads and has restored the recorded routing.
  xds.setStandby("standby replica: the leading vireo controller serves xDS");
  const port = await xds.listen(config.xdsPort, config.xdsHost, security?.credentials());
  await watch.start();
  await policies?.start();
  await routeStatus.start();
  await controller.start();
  const http = await startMetricsServer(
    metrics.registry,
    { ready: () => controller.ready },
    config.metricsPort,
    config.metricsHost,
  );
  log.info("started", {
    xdsPort: port,
    metricsPort: config.metricsPort,
    identity: config.identity,
  });

  let stopping = false;
  const core = kc.makeApiClient(CoreV1Api);
  const pod =
    config.podName === undefined
      ? undefined
      : { namespace: config.namespace, name: config.podName };
  /** Leading: routing restored from the Rollouts' status, published, then served. */
  function lead(): void {
    router?.servingStarted();
    controller.lead();
    routeStatus.lead();
    builder.build();
    xds.setStandby(undefined);
    if (pod !== undefined) void markServing(core, pod, true, { ...retry, log }, stopped.signal);
  }

  const elector = config.leaderElection
    ? new LeaderElector({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: config.namespace,
        name: "vireo-controller",
        identity: config.identity,
        clock,
        log,
        onStartedLeading: lead,
        onStoppedLeading: () => {
          if (stopping) return; // stop() gives the lease up itself
          log.error("lost leadership");
          xds.setStandby("this replica lost leadership");
          onLostLeadership();
        },
      })
    : undefined;
  if (elector === undefined) lead();
  const electing = elector?.run();

  const metricsAddress = http.address();
  return {
    xdsPort: port,
    metricsPort:
      typeof metricsAddress === "object" && metricsAddress !== null
        ? metricsAddress.port
        : config.metricsPort,
    webhookPort: injector?.port,
    xds,
    traffic: router,
    unhandledRejection(reason) {
      metrics.unhandledRejections.inc();
      log.error("unhandled promise rejection (a defect: please report it)", {
        error: reason instanceof Error ? reason : String(reason),
        stack: reason instanceof Error ? reason.stack : undefined,
      });
    },
    async stop() {
      stopping = true;
      stopped.abort();
      await controller.stop();
      // Give messages already queued a moment to go out before the process ends.
      await Promise.race([dispatcher.idle(), clock.sleep(3000)]);
      await dispatcher.close();
      await Promise.race([events.idle(), clock.sleep(3000)]);
      xds.setStandby("shutting down");
      if (pod !== undefined) await markServing(core, pod, false, { ...retry, log }, stopped.signal); // one attempt: stopping
      await elector?.stop();
      await electing;
      builder.stop();
      security?.stop();
      await injector?.stop();
      await routeStatus.stop();
      await watch.stop();
      await policies?.stop();
      await xds.close();
      http.close();
    },
  };
}
