// AdmissionReview v1 in, AdmissionReview v1 out (docs/injection.md): pure, so the webhook's HTTP
// side only moves bytes. A pod that could not be injected is admitted as it is, with a warning
// that says why (kubectl prints it) and an audit annotation.
import type { V1Pod } from "@kubernetes/client-node";
import type { InjectConfig } from "./config.js";
import { INTENTIONAL_SKIPS, injectPod } from "./inject.js";

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: "JSONPatch";
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

export interface AdmissionReviewOut {
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

interface RequestIn {
  uid?: unknown;
  kind?: { kind?: unknown };
  namespace?: unknown;
  object?: unknown;
}

/** Thrown for a body that is not an AdmissionReview v1 of a Pod: the HTTP side answers 400. */
export class BadReview extends Error {
  override readonly name = "BadReview";
}

export function review(body: unknown, config: InjectConfig): AdmissionReviewOut {
  const b = body as { apiVersion?: unknown; kind?: unknown; request?: RequestIn } | null;
  if (b?.apiVersion !== "admission.k8s.io/v1" || b.kind !== "AdmissionReview") {
    throw new BadReview("the body is not an admission.k8s.io/v1 AdmissionReview");
  }
  const req = b.request;
  if (req === undefined || typeof req.uid !== "string") {
    throw new BadReview("the AdmissionReview has no request.uid");
  }
  const out = (response: Omit<AdmissionResponse, "uid">): AdmissionReviewOut => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: req.uid as string, ...response },
  });
  if (req.kind?.kind !== "Pod" || typeof req.object !== "object" || req.object === null) {
    return out({ allowed: true, warnings: ["vireo injector: not a Pod, left unchanged"] });
  }
  const obj = req.object as V1Pod;
  // Pods made by a ReplicaSet arrive without metadata.namespace; the request carries it.
  const pod: V1Pod =
    typeof req.namespace === "string" && obj.metadata?.namespace === undefined
      ? { ...obj, metadata: { ...obj.metadata, namespace: req.namespace } }
      : obj;
  const r = injectPod(pod, undefined, config);
  if (r.skipped !== undefined) {
    if (INTENTIONAL_SKIPS.has(r.skipped.code)) return out({ allowed: true });
    return out({
      allowed: true,
      warnings: [`vireo: the pod was NOT injected (${r.skipped.code}): ${r.skipped.message}`],
      auditAnnotations: { "inject.vireo.dev/skipped": `${r.skipped.code}: ${r.skipped.message}` },
    });
  }
  return out({
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(r.patch)).toString("base64"),
    ...(r.warnings.length === 0 ? {} : { warnings: r.warnings.map((w) => `vireo: ${w}`) }),
  });
}
