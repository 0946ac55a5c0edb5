// Watches Services and EndpointSlices through client-node informers and keeps the cluster state
// the snapshot builder reads; routing state comes from the Rollout controller.
import type { KubeConfig, V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { CoreV1Api, DiscoveryV1Api, makeInformer } from "@kubernetes/client-node";
import type { Informer, ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "../../common/logger.js";
import type { ApiRetryDeps } from "../../kube/api-retry.js";
import type { WatchRestart } from "../../kube/watch-restart.js";
import { restartOnError } from "../../kube/watch-restart.js";
import type { ClusterState, RoutingModel, ServiceEndpoints, ServiceModel } from "../model.js";
import { mergeSlices, serviceModel } from "./convert.js";

type Watched<T extends { metadata?: { name?: string } }> = Informer<T> & ObjectCache<T>;

export class KubeClusterWatch {
  private readonly services: Watched<V1Service>;
  private readonly slices: Watched<V1EndpointSlice>;
  private readonly routing = new Map<string, RoutingModel>();
  private started = false;
  /** Set before the first list (started only after it): a first list that fails is restarted. */
  private running = false;
  private readonly restarts: WatchRestart[] = [];

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: () => void,
    retry: Omit<ApiRetryDeps, "log">,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    this.services = makeInformer(kc, "/api/v1/services", () => core.listServiceForAllNamespaces());
    this.slices = makeInformer(kc, "/apis/discovery.k8s.io/v1/endpointslices", () =>
      discovery.listEndpointSliceForAllNamespaces(),
    );
    for (const inf of this.informers()) {
      for (const verb of ["add", "update", "delete"] as const) {
        inf.on(verb, () => {
          if (this.started) this.onChange();
        });
      }
      // Stopping aborts the watch; that is not a failure.
      this.restarts.push(
        restartOnError(inf, inf === this.services ? "services" : "endpointslices", {
          ...retry,
          log,
          active: () => this.running,
        }),
      );
    }
  }

  /** Lists everything once, then follows changes. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all(
      this.informers().map((inf, i) =>
        inf.start().catch((err: unknown) => this.restarts[i]?.failed(err)),
      ),
    );
    this.started = true;
    this.log.info("watching services and endpoint slices", {
      services: this.services.list().length,
      slices: this.slices.list().length,
    });
    this.onChange();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.running = false;
    for (const r of this.restarts) r.cancel();
    await Promise.all([this.services.stop(), this.slices.stop()]);
  }

  private informers(): Watched<{ metadata?: { name?: string } }>[] {
    return [this.services, this.slices] as Watched<{ metadata?: { name?: string } }>[];
  }

  /** Sets (or with undefined, clears) the routing of one apex Service. */
  setRouting(namespace: string, service: string, routing: RoutingModel | undefined): void {
    const key = `${namespace}/${service}`;
    if (routing === undefined) this.routing.delete(key);
    else this.routing.set(key, routing);
    this.onChange();
  }

  state(): ClusterState {
    return {
      services: this.serviceModels(),
      endpoints: this.endpointModels(),
      routing: [...this.routing.values()],
    };
  }

  /** The Services alone, for readers that need no endpoints (no EndpointSlice is merged). */
  serviceModels(): ServiceModel[] {
    return this.services
      .list()
      .map(serviceModel)
      .filter((s): s is ServiceModel => s !== undefined);
  }

  /** The endpoints alone, merged from the EndpointSlices of each Service. */
  endpointModels(): ServiceEndpoints[] {
    return mergeSlices(this.slices.list());
  }
}
