// Watches Services and EndpointSlices through client-node informers and keeps the cluster state
// the snapshot builder reads; routing state comes from the Rollout controller.
import type { KubeConfig, V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { CoreV1Api, DiscoveryV1Api, makeInformer } from "@kubernetes/client-node";
import type { Informer, ObjectCache } from "@kubernetes/client-node";
import type { Logger } from "../../common/logger.js";
import type { ClusterState, RoutingModel, ServiceModel } from "../model.js";
import { mergeSlices, serviceModel } from "./convert.js";

type Watched<T extends { metadata?: { name?: string } }> = Informer<T> & ObjectCache<T>;

export class KubeClusterWatch {
  private readonly services: Watched<V1Service>;
  private readonly slices: Watched<V1EndpointSlice>;
  private readonly routing = new Map<string, RoutingModel>();
  private started = false;

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    this.services = makeInformer(kc, "/api/v1/services", () => core.listServiceForAllNamespaces());
    this.slices = makeInformer(kc, "/apis/discovery.k8s.io/v1/endpointslices", () =>
      discovery.listEndpointSliceForAllNamespaces(),
    );
    for (const inf of [this.services, this.slices] as Watched<{ metadata?: { name?: string } }>[]) {
      for (const verb of ["add", "update", "delete"] as const) {
        inf.on(verb, () => {
          if (this.started) this.onChange();
        });
      }
      inf.on("error", (err: unknown) => {
        if (!this.started) return; // stopping aborts the watch; that is not a failure
        log.warn("watch failed, restarting in 1s", { error: String(err) });
        setTimeout(() => {
          if (this.started) void inf.start();
        }, 1000);
      });
    }
  }

  /** Lists everything once, then follows changes. */
  async start(): Promise<void> {
    await Promise.all([this.services.start(), this.slices.start()]);
    this.started = true;
    this.log.info("watching services and endpoint slices", {
      services: this.services.list().length,
      slices: this.slices.list().length,
    });
    this.onChange();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([this.services.stop(), this.slices.stop()]);
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
      services: this.services
        .list()
        .map(serviceModel)
        .filter((s): s is ServiceModel => s !== undefined),
      endpoints: mergeSlices(this.slices.list()),
      routing: [...this.routing.values()],
    };
  }
}
