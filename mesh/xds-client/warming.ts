// When to publish: Envoy warms a new cluster until its endpoints arrive and a new listener until
// its routes arrive. We hold a snapshot that needs such a resource, for at most the warming
// timeout; what is still missing then is given up on (served as 503/404) until it arrives.
import type { Store } from "./store.js";
import { referencedSecrets } from "./store.js";

export interface WarmingInput {
  readonly store: Store;
  /** Keys (see `missingKeys`) given up on after an earlier timeout. */
  readonly gaveUp: ReadonlySet<string>;
  /** When the current hold began, if one is in progress. */
  readonly holdingSince: number | undefined;
  readonly now: number;
  readonly warmTimeoutMs: number;
}

export type PublishDecision =
  /** Listeners or clusters have not arrived yet: there is nothing to serve. */
  | { readonly kind: "initial" }
  | {
      readonly kind: "hold";
      readonly since: number;
      readonly until: number;
      readonly pending: readonly string[];
    }
  | { readonly kind: "publish"; readonly gaveUp: ReadonlySet<string> };

/**
 * Referenced resources the client does not hold and the server has not declared absent:
 * `route:<name>` for a listener's route configuration, `endpoints:<name>` for a cluster's,
 * `secret:<name>` for a trust bundle TLS refers to.
 */
export function missingKeys(store: Store): string[] {
  const out = new Set<string>();
  for (const { value } of store.listener.resources.values()) {
    if (value.kind !== "api") continue;
    const n = value.routeConfig;
    if (!store.route.resources.has(n) && !store.route.absent.has(n)) out.add(`route:${n}`);
  }
  for (const n of referencedSecrets(store)) {
    if (!store.secret.resources.has(n) && !store.secret.absent.has(n)) out.add(`secret:${n}`);
  }
  for (const { value } of store.cluster.resources.values()) {
    const n = value.edsName;
    if (!store.endpoint.resources.has(n) && !store.endpoint.absent.has(n))
      out.add(`endpoints:${n}`);
  }
  return [...out];
}

export function planPublish(input: WarmingInput): PublishDecision {
  const { store, now } = input;
  if (!store.listener.received || !store.cluster.received) return { kind: "initial" };
  const missing = missingKeys(store);
  const pending = missing.filter((k) => !input.gaveUp.has(k));
  const stillMissing = (keys: Iterable<string>): Set<string> =>
    new Set([...keys].filter((k) => missing.includes(k)));
  if (pending.length === 0) return { kind: "publish", gaveUp: stillMissing(input.gaveUp) };
  const since = input.holdingSince ?? now;
  const until = since + input.warmTimeoutMs;
  if (now < until) return { kind: "hold", since, until, pending };
  return { kind: "publish", gaveUp: stillMissing([...input.gaveUp, ...pending]) };
}
