// Watches Pods, PeerAuthentications and AuthorizationPolicies for the security translation. The
// policy CRDs may be installed after the controller starts: their watches retry until they exist.
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { CoreV1Api, CustomObjectsApi, makeInformer } from "@kubernetes/client-node";
import type {
  Informer,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
} from "@kubernetes/client-node";
import type { Logger } from "../../common/logger.js";
import type { ApiRetryDeps } from "../../kube/api-retry.js";
import type { WatchRestart } from "../../kube/watch-restart.js";
import { restartOnError } from "../../kube/watch-restart.js";
import type { AuthorizationPolicy, PeerAuthentication } from "../../policy/model.js";
import type { Parsed } from "../../policy/parse.js";
import { parseAuthorizationPolicy, parsePeerAuthentication } from "../../policy/parse.js";
import type { PodModel } from "../model.js";
import { podModel } from "./convert.js";

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;
type PolicyObject = KubernetesObject & { spec?: unknown };

const GROUP = "vireo.dev";
const VERSION = "v1alpha1";

export class PolicyWatch {
  private readonly pods: Watched<V1Pod>;
  private readonly peerAuthn: Watched<PolicyObject>;
  private readonly authz: Watched<PolicyObject>;
  private started = false;
  private readonly restarts: WatchRestart[] = [];

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: () => void,
    retry: Omit<ApiRetryDeps, "log">,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const list = (plural: string) => () =>
      custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<
        KubernetesListObject<PolicyObject>
      >;
    this.pods = makeInformer(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
    this.peerAuthn = makeInformer(
      kc,
      `/apis/${GROUP}/${VERSION}/peerauthentications`,
      list("peerauthentications"),
    );
    this.authz = makeInformer(
      kc,
      `/apis/${GROUP}/${VERSION}/authorizationpolicies`,
      list("authorizationpolicies"),
    );
    const names = ["pods", "peerauthentications", "authorizationpolicies"];
    this.informers().forEach((inf, i) => {
      for (const verb of ["add", "update", "delete"] as const) {
        inf.on(verb, () => {
          if (this.started) this.onChange();
        });
      }
      // The policy CRDs may not be installed yet: their list fails and is retried with back-off.
      this.restarts.push(
        restartOnError(inf, names[i] ?? "policies", {
          ...retry,
          log,
          active: () => this.started,
        }),
      );
    });
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all(
      this.informers().map((inf, i) =>
        inf.start().catch((err: unknown) => this.restarts[i]?.failed(err)),
      ),
    );
    this.onChange();
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const r of this.restarts) r.cancel();
    await Promise.all(this.informers().map((i) => i.stop()));
  }

  /** The pods of one namespace (all: undefined) as last seen (the judge asks every second). */
  podsIn(namespace: string | undefined): readonly V1Pod[] {
    return this.pods.list(namespace);
  }

  /** One pod as last seen. */
  pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods.get(name, namespace);
  }

  podModels(): PodModel[] {
    return this.pods
      .list()
      .map(podModel)
      .filter((p): p is PodModel => p !== undefined);
  }

  peerAuthentications(): PeerAuthentication[] {
    return this.parsed(this.peerAuthn.list(), parsePeerAuthentication);
  }

  authorizationPolicies(): AuthorizationPolicy[] {
    return this.parsed(this.authz.list(), parseAuthorizationPolicy);
  }

  private informers(): Watched<KubernetesObject>[] {
    return [this.pods, this.peerAuthn, this.authz] as Watched<KubernetesObject>[];
  }

  /** A policy that does not parse is left out whole, with a warning: never half-applied. */
  private parsed<T>(objs: readonly PolicyObject[], parse: (o: PolicyObject) => Parsed<T>): T[] {
    const out: T[] = [];
    for (const o of objs) {
      const p = parse(o);
      if (p.ok) out.push(p.value);
      else this.log.warn("policy ignored", { reason: p.reason });
    }
    return out;
  }
}
