// Who receives a Rollout's message: Flagger's severity filter over the Rollout's alerts, plus the
// controller's default provider. Pure.
import type { AlertSpec, ProviderRef, Severity } from "../domain/rollout.js";

const RANK: Readonly<Record<Severity, number>> = { info: 0, warn: 1, error: 2 };

/** Flagger's filter: an info alert receives everything, warn receives warn and error, error only error. */
export function receives(alertSeverity: Severity, severity: Severity): boolean {
  return RANK[severity] >= RANK[alertSeverity];
}

/**
 * The providers a message of `severity` goes to, each once, in order: the Rollout's alerts whose
 * filter lets it through (a providerRef without namespace is in the Rollout's), then the
 * controller's default provider under its own filter.
 */
export function recipients(
  namespace: string,
  alerts: readonly AlertSpec[],
  severity: Severity,
  defaultProvider?: ProviderRef & { readonly severity: Severity },
): ProviderRef[] {
  const out: ProviderRef[] = [];
  const add = (ref: ProviderRef): void => {
    if (!out.some((r) => r.namespace === ref.namespace && r.name === ref.name)) out.push(ref);
  };
  for (const alert of alerts) {
    if (receives(alert.severity, severity))
      add({ namespace: alert.providerRef.namespace ?? namespace, name: alert.providerRef.name });
  }
  const d = defaultProvider;
  if (d !== undefined && receives(d.severity, severity))
    add({ namespace: d.namespace, name: d.name });
  return out;
}
