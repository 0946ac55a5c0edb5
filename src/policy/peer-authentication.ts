// The mTLS mode of a workload's ports from PeerAuthentication, istiod's ComposePeerAuthentication:
// workload-level over namespace-level over mesh-wide (root namespace), the oldest policy winning
// within a level, portLevelMtls only on workload-level policies, PERMISSIVE when nothing says.
import type { MtlsMode, PeerAuthentication } from "./model.js";
import { selects } from "./model.js";

export interface EffectiveMtls {
  readonly mode: MtlsMode;
  /** Workload (target) port → mode, where a port-level setting differs. */
  readonly ports: Readonly<Record<number, MtlsMode>>;
}

function oldest(ps: readonly PeerAuthentication[]): PeerAuthentication | undefined {
  return [...ps].sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name))[0];
}

const hasSelector = (p: PeerAuthentication): boolean =>
  p.selector !== undefined && Object.keys(p.selector).length > 0;

export function resolveMtls(
  all: readonly PeerAuthentication[],
  namespace: string,
  labels: Readonly<Record<string, string>>,
  rootNamespace: string,
): EffectiveMtls {
  const mesh = oldest(all.filter((p) => p.namespace === rootNamespace && !hasSelector(p)));
  const ns =
    namespace === rootNamespace
      ? undefined
      : oldest(all.filter((p) => p.namespace === namespace && !hasSelector(p)));
  const wl =
    namespace === rootNamespace
      ? undefined
      : oldest(
          all.filter(
            (p) => p.namespace === namespace && hasSelector(p) && selects(p.selector, labels),
          ),
        );
  let mode: MtlsMode = "PERMISSIVE";
  for (const p of [mesh, ns, wl]) if (p?.mode !== undefined) mode = p.mode;
  const ports: Record<number, MtlsMode> = {};
  for (const [port, m] of Object.entries(wl?.portLevelMtls ?? {})) ports[Number(port)] = m ?? mode;
  return { mode, ports };
}

export function modeForPort(m: EffectiveMtls, port: number): MtlsMode {
  return m.ports[port] ?? m.mode;
}
