// PeerAuthentication and AuthorizationPolicy custom objects to the policy model, once, at the
// boundary. The CRD schemas refuse malformed objects; what still fails here is skipped with a
// reason (never half-applied).
import type {
  Action,
  AuthorizationPolicy,
  Field,
  MtlsMode,
  Operation,
  PeerAuthentication,
  Rule,
  Source,
} from "./model.js";

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

interface Meta {
  metadata?: { namespace?: string; name?: string; creationTimestamp?: string | Date };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
const labels = (v: unknown): Record<string, string> | undefined => {
  if (!isObj(v) || !isObj(v.matchLabels)) return undefined;
  return Object.fromEntries(
    Object.entries(v.matchLabels).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
};
const MODES = ["STRICT", "PERMISSIVE", "DISABLE"] as const;
const modeOf = (v: unknown): MtlsMode | undefined =>
  isObj(v) ? MODES.find((m) => m === v.mode) : undefined;

function field(o: Obj, name: string, notName: string): Field | undefined {
  const values = strings(o[name]);
  const notValues = strings(o[notName]);
  if (values === undefined && notValues === undefined) return undefined;
  return { ...(values && { values }), ...(notValues && { notValues }) };
}

function optional<K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, V>);
}

export function parseAuthorizationPolicy(
  obj: Meta & { spec?: unknown },
): Parsed<AuthorizationPolicy> {
  const namespace = obj.metadata?.namespace ?? "";
  const name = obj.metadata?.name ?? "";
  const spec = isObj(obj.spec) ? obj.spec : {};
  const raw = spec.action ?? "ALLOW";
  const action = (["ALLOW", "DENY"] as const).find((a): a is Action => a === raw);
  if (action === undefined)
    return {
      ok: false,
      reason: `AuthorizationPolicy ${namespace}/${name}: action ${JSON.stringify(raw)} is not ALLOW or DENY`,
    };
  const rules: Rule[] = [];
  for (const r of Array.isArray(spec.rules) ? spec.rules : []) {
    if (!isObj(r)) continue;
    const from = Array.isArray(r.from)
      ? r.from.filter(isObj).map((f): Source => {
          const s = isObj(f.source) ? f.source : {};
          return {
            ...optional("principals", field(s, "principals", "notPrincipals")),
            ...optional("namespaces", field(s, "namespaces", "notNamespaces")),
          };
        })
      : undefined;
    const to = Array.isArray(r.to)
      ? r.to.filter(isObj).map((t): Operation => {
          const o = isObj(t.operation) ? t.operation : {};
          return {
            ...optional("methods", field(o, "methods", "notMethods")),
            ...optional("paths", field(o, "paths", "notPaths")),
            ...optional("ports", field(o, "ports", "notPorts")),
          };
        })
      : undefined;
    rules.push({ ...optional("from", from), ...optional("to", to) });
  }
  return {
    ok: true,
    value: { namespace, name, action, rules, ...optional("selector", labels(spec.selector)) },
  };
}

export function parsePeerAuthentication(
  obj: Meta & { spec?: unknown },
): Parsed<PeerAuthentication> {
  const namespace = obj.metadata?.namespace ?? "";
  const name = obj.metadata?.name ?? "";
  const spec = isObj(obj.spec) ? obj.spec : {};
  const ports: Record<string, MtlsMode | undefined> = {};
  if (isObj(spec.portLevelMtls)) {
    for (const [port, m] of Object.entries(spec.portLevelMtls)) ports[port] = modeOf(m);
  }
  const created = obj.metadata?.creationTimestamp;
  return {
    ok: true,
    value: {
      namespace,
      name,
      createdAt: created === undefined ? 0 : new Date(created).getTime(),
      ...optional("mode", modeOf(spec.mtls)),
      ...optional("selector", labels(spec.selector)),
      ...(Object.keys(ports).length > 0 && { portLevelMtls: ports }),
    },
  };
}
