// ObjectSource backed by the API server.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { ApiException } from "@kubernetes/client-node";
import type { IssuedToken, ObjectSource } from "./sources.js";

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export function apiObjectSource(core: CoreV1Api): ObjectSource {
  return {
    configMap: (namespace, name) => orUndefined(core.readNamespacedConfigMap({ namespace, name })),
    secret: (namespace, name) => orUndefined(core.readNamespacedSecret({ namespace, name })),
    async token(pod: V1Pod, audience, expirationSeconds): Promise<IssuedToken> {
      const tr = await core.createNamespacedServiceAccountToken({
        namespace: pod.metadata?.namespace ?? "default",
        name: pod.spec?.serviceAccountName ?? "default",
        body: {
          spec: {
            audiences: audience === undefined || audience === "" ? [] : [audience],
            expirationSeconds,
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: pod.metadata?.name ?? "",
              uid: pod.metadata?.uid ?? "",
            },
          },
        },
      });
      const token = tr.status?.token;
      if (token === undefined) throw new Error("TokenRequest returned no token");
      const exp = tr.status?.expirationTimestamp;
      return {
        token,
        expiresAt:
          exp === undefined ? Date.now() + expirationSeconds * 1000 : new Date(exp).getTime(),
      };
    },
  };
}
