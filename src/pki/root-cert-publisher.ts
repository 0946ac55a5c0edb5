// Writes the trust bundle into ConfigMap `vireo-ca-root-cert` (key `root-cert.pem`) of every
// namespace, as Istio does with istio-ca-root-cert, so pods can mount it to verify the control
// plane and their peers.
import type { CoreV1Api } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import type { Logger } from "../common/logger.js";
import { INJECT_LABEL } from "../inject/names.js";

export const ROOT_CERT_CONFIGMAP = "vireo-ca-root-cert";
export const ROOT_CERT_KEY = "root-cert.pem";

export interface RootCertPublisherDeps {
  readonly core: CoreV1Api;
  readonly log: Logger;
  /**
   * A controller limited by --watch-namespace: this namespace and the namespaces labelled for
   * sidecar injection (the webhook injects there whatever the controller watches, and an injected
   * pod cannot start without the ConfigMap). Every namespace otherwise.
   */
  readonly onlyNamespace: string | undefined;
  /** The controller's own namespace, always written: `vireo check` reads the roots there. */
  readonly ownNamespace: string;
}

export class RootCertPublisher {
  constructor(private readonly deps: RootCertPublisherDeps) {}

  /** Ensures every namespace's ConfigMap holds `bundle`; returns how many it changed. */
  async publish(bundle: string): Promise<number> {
    const only = this.deps.onlyNamespace;
    const namespaces =
      only === undefined
        ? await this.namespaces({})
        : [...new Set([only, this.deps.ownNamespace, ...(await this.labelledForInjection())])];
    let changed = 0;
    for (const namespace of namespaces) {
      try {
        if (await this.ensure(namespace, bundle)) changed++;
      } catch (err) {
        this.deps.log.warn("could not write the root certificate ConfigMap", {
          namespace,
          error: err instanceof Error ? err : String(err),
        });
      }
    }
    return changed;
  }

  private async namespaces(query: { labelSelector?: string }): Promise<string[]> {
    return (await this.deps.core.listNamespace(query)).items
      .filter((n) => n.status?.phase !== "Terminating")
      .map((n) => n.metadata?.name ?? "")
      .filter((n) => n !== "");
  }

  /**
   * With --watch-namespace, the namespaces labelled for injection besides the watched one. Not
   * being allowed to list them (a namespaced install) still leaves the watched one served.
   */
  private async labelledForInjection(): Promise<string[]> {
    try {
      return await this.namespaces({ labelSelector: `${INJECT_LABEL}=enabled` });
    } catch (err) {
      this.deps.log.warn("could not list the namespaces labelled for injection", {
        error: err instanceof Error ? err : String(err),
      });
      return [];
    }
  }

  private async ensure(namespace: string, bundle: string): Promise<boolean> {
    const { core } = this.deps;
    const body = {
      metadata: {
        name: ROOT_CERT_CONFIGMAP,
        labels: { "app.kubernetes.io/managed-by": "vireo" },
      },
      data: { [ROOT_CERT_KEY]: bundle },
    };
    try {
      const cm = await core.readNamespacedConfigMap({ name: ROOT_CERT_CONFIGMAP, namespace });
      if (cm.data?.[ROOT_CERT_KEY] === bundle) return false;
      await core.replaceNamespacedConfigMap({ name: ROOT_CERT_CONFIGMAP, namespace, body });
      return true;
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
      await core.createNamespacedConfigMap({ namespace, body });
      return true;
    }
  }
}
