// Watches HTTPRoutes and GRPCRoutes, hands them parsed to the xDS translation (every replica), and
// writes vireo's entries in the `status.parents` of those attached to a Service (GEP-1294: a mesh
// MUST say whether it applied a route). The leader writes; a standby only watches. Services come
// from the controller's own Service watch. Without the Gateway API CRDs nothing is watched: the
// group is looked for again every minute, quietly.
import type {
  Informer,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
} from "@kubernetes/client-node";
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { Clock, TimerHandle } from "../common/clock.js";
import { canonicalJson } from "../common/canonical-json.js";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { FailureCounter } from "../kube/api-retry.js";
import type { WatchRestart } from "../kube/watch-restart.js";
import { restartOnError } from "../kube/watch-restart.js";
import type { ServiceModel } from "../xds/model.js";
import type { MeshRoute, RouteParentStatus } from "./model.js";
import { GATEWAY_GROUP, MESH_CONTROLLER } from "./model.js";
import { parseRoute } from "./parse-route.js";
import { meshParentStatuses, mergeParentStatuses } from "./route-status.js";

const VERSION = "v1";
const PLURALS = ["httproutes", "grpcroutes"] as const;
/** Changes arriving together (a Service and its routes) are written once. */
const DEBOUNCE_MS = 200;
const RECHECK_MS = 60_000;

type RouteObject = KubernetesObject & {
  spec?: unknown;
  status?: { parents?: { controllerName?: string }[] };
};
type Watched = Informer<RouteObject> & ObjectCache<RouteObject>;

export interface RouteStatusDeps {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly failures: FailureCounter;
  /** The Services the controller watches. */
  readonly services: () => readonly ServiceModel[];
  /** A route was added, changed or deleted (the xDS snapshot is rebuilt from `routes()`). */
  readonly onRoutes?: () => void;
}

export class RouteStatusWriter {
  private readonly custom: CustomObjectsApi;
  private informers: { plural: string; inf: Watched }[] = [];
  private readonly restarts: WatchRestart[] = [];
  private running = false;
  private leading = false;
  private timer: TimerHandle | undefined;
  private recheck: TimerHandle | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RouteStatusDeps) {
    this.custom = deps.kc.makeApiClient(CustomObjectsApi);
  }

  /** Starts watching routes if the Gateway API is installed (else looks again every minute). */
  async start(): Promise<void> {
    this.running = true;
    await this.watchIfInstalled();
  }

  /** From now on this replica writes status; everything is checked once. */
  lead(): void {
    this.leading = true;
    this.changed();
  }

  /** Something routes depend on changed (Services): statuses are recomputed. */
  changed(): void {
    if (!this.running || !this.leading || this.informers.length === 0) return;
    this.timer ??= this.deps.clock.setTimer(DEBOUNCE_MS, () => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.writeAll());
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.recheck?.cancel();
    for (const r of this.restarts) r.cancel();
    await Promise.all(this.informers.map(({ inf }) => inf.stop()));
    await this.writing;
  }

  /** Settles once the writes queued so far are done (tests). */
  idle(): Promise<void> {
    return this.writing;
  }

  private async watchIfInstalled(): Promise<void> {
    try {
      await this.custom.listClusterCustomObject({
        group: GATEWAY_GROUP,
        version: VERSION,
        plural: "httproutes",
        limit: 1,
      });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
      this.deps.log.debug("Gateway API not installed: no route status to write", {});
      this.recheck = this.deps.clock.setTimer(RECHECK_MS, () => {
        if (this.running) void this.watchIfInstalled().catch(() => undefined);
      });
      return;
    }
    const list = (plural: string) => () =>
      this.custom.listClusterCustomObject({
        group: GATEWAY_GROUP,
        version: VERSION,
        plural,
      }) as Promise<KubernetesListObject<RouteObject>>;
    this.informers = PLURALS.map((plural) => ({
      plural,
      inf: makeInformer(this.deps.kc, `/apis/${GATEWAY_GROUP}/${VERSION}/${plural}`, list(plural)),
    }));
    for (const { plural, inf } of this.informers) {
      for (const verb of ["add", "update", "delete"] as const) {
        inf.on(verb, () => {
          // A deleted route has no status left to write; only the mesh must forget it.
          if (verb !== "delete") this.changed();
          this.deps.onRoutes?.();
        });
      }
      this.restarts.push(restartOnError(inf, plural, { ...this.deps, active: () => this.running }));
    }
    await Promise.all(
      this.informers.map(({ inf }, i) =>
        inf.start().catch((err: unknown) => this.restarts[i]?.failed(err)),
      ),
    );
    this.deps.log.info("writing the status of Gateway API routes attached to Services", {
      controllerName: MESH_CONTROLLER,
    });
    this.changed();
    this.deps.onRoutes?.();
  }

  /** Every HTTPRoute and GRPCRoute watched, parsed (none without the Gateway API CRDs). */
  routes(): MeshRoute[] {
    return this.informers.flatMap(({ inf }) => inf.list().flatMap((obj) => parseRoute(obj) ?? []));
  }

  private async writeAll(): Promise<void> {
    if (!this.leading) return;
    const byKey = new Map(this.deps.services().map((s) => [`${s.namespace}/${s.name}`, s]));
    const lookup = (namespace: string, name: string) => byKey.get(`${namespace}/${name}`);
    const now = new Date(this.deps.clock.now()).toISOString().replace(/\.\d+Z$/, "Z");
    for (const { plural, inf } of this.informers) {
      for (const obj of inf.list()) {
        try {
          await this.writeOne(plural, obj, lookup, now);
        } catch (err) {
          // A conflict means a newer version is on its way through the watch: written then.
          if (err instanceof ApiException && err.code === 409) continue;
          this.deps.log.warn("could not write a route's status", {
            route: `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`,
            error: describeError(err),
          });
        }
      }
    }
  }

  private async writeOne(
    plural: string,
    obj: RouteObject,
    lookup: (namespace: string, name: string) => ServiceModel | undefined,
    now: string,
  ): Promise<void> {
    const route = parseRoute(obj);
    if (route === undefined) return;
    const existing = obj.status?.parents ?? [];
    const previous = existing.filter(
      (e) => e.controllerName === MESH_CONTROLLER,
    ) as unknown as RouteParentStatus[];
    const ours = meshParentStatuses(route, lookup, now, previous);
    if (canonicalJson(ours) === canonicalJson(previous)) return;
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GATEWAY_GROUP,
        version: VERSION,
        namespace: route.namespace,
        plural,
        name: route.name,
        body: {
          metadata: { resourceVersion: obj.metadata?.resourceVersion },
          status: { parents: mergeParentStatuses(existing, ours) },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }
}
