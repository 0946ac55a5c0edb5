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

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly onChange: () => void,
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
    for (const inf of this.informers()) {
      for (const verb of ["add", "update", "delete"] as const) {
        inf.on(verb, () => {
          if (this.started) this.onChange();
        });
      }
      inf.on("error", (err: unknown) => {
        if (!this.started) return;
        log.warn("watch failed, restarting in 1s", { error: String(err) });
        setTimeout(() => {
          if (this.started) void this.startOne(inf);
        }, 1000);
      });
    }
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all(this.informers().map((i) => this.startOne(i)));
    this.onChange();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.informers().map((i) => i.stop()));
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

  private async startOne(inf: Watched<KubernetesObject>): Promise<void> {
    try {
      await inf.start();
    } catch (err) {
      if (!this.started) return;
      this.log.warn("cannot list yet (CRD not installed?), retrying in 5s", {
        error: err instanceof Error ? err.message : String(err),
      });
      setTimeout(() => {
        if (this.started) void this.startOne(inf);
      }, 5000).unref();
    }
  }
}
