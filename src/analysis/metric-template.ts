// MetricTemplate (crds/metrictemplates.vireo.dev.yaml): a query with placeholders and the
// Prometheus it runs on. The wire object is parsed once into a domain type (its placeholders
// checked), the credentials come from a Secret, and each run renders the query with the
// Rollout's names and the check's templateVariables.
import { Field, WireError } from "../api/field.js";
import type { ParseFailureReason } from "../api/field.js";
import type { PrometheusAuth, PrometheusOptions } from "./prometheus.js";

export const METRIC_TEMPLATE_GROUP = "vireo.dev";
export const METRIC_TEMPLATE_VERSION = "v1alpha1";
export const METRIC_TEMPLATE_PLURAL = "metrictemplates";
export const METRIC_TEMPLATE_KIND = "MetricTemplate";

export const PROVIDER_TYPES = ["prometheus"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export interface ProviderSpec {
  readonly type: ProviderType;
  readonly address: string;
  /** A Secret in the template's namespace: `token`, or `username` and `password`; `ca.crt`. */
  readonly secretRef?: { readonly name: string };
  readonly insecureSkipVerify: boolean;
}

export interface MetricTemplate {
  readonly namespace: string;
  readonly name: string;
  readonly provider: ProviderSpec;
  readonly query: string;
}

export type TemplateParseResult =
  | { readonly ok: true; readonly template: MetricTemplate }
  | { readonly ok: false; readonly reason: ParseFailureReason; readonly message: string };

/** What the placeholders stand for when a Rollout's check renders the query. */
export interface TemplateContext {
  /** The Rollout. */
  readonly name: string;
  readonly namespace: string;
  /** The workload measured: the target (canary), or `<target>-primary` for the comparison. */
  readonly target: string;
  /** The apex Service. */
  readonly service: string;
  /** The check's window as a Prometheus duration ("30s", "1m30s"). */
  readonly interval: string;
  readonly variables: Readonly<Record<string, string>>;
}

export type RenderResult =
  { readonly ok: true; readonly query: string } | { readonly ok: false; readonly message: string };

export interface ProviderCredentials {
  readonly auth?: PrometheusAuth;
  /** PEM, from the Secret's `ca.crt`. */
  readonly ca?: string;
}

/** A Rollout's templateRef, its namespace defaulted to the Rollout's. */
export interface TemplateRef {
  readonly name: string;
  readonly namespace: string;
}

/** What a Rollout's templateRef resolves to; the resolver reads the template and its Secret. */
export type TemplateResolution =
  | {
      readonly ok: true;
      readonly template: MetricTemplate;
      readonly credentials: ProviderCredentials;
    }
  | { readonly ok: false; readonly message: string };

const NAMES = ["name", "namespace", "target", "service", "interval"] as const;
type Name = (typeof NAMES)[number];
/** `{{ target }}`, `{{variables.route}}`: Flagger's placeholders, with optional spaces. */
const PLACEHOLDER = /\{\{(.*?)\}\}/gs;
const EXPRESSION = /^\s*(?:(name|namespace|target|service|interval)|variables\.([\w.-]+))\s*$/;
const HELP =
  "write {{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} or {{ variables.<key> }}";

type Placeholder =
  | { readonly kind: "name"; readonly name: Name }
  | { readonly kind: "variable"; readonly key: string };

/**
 * Replaces every placeholder, or names the first one it cannot fill. Values are inserted as
 * they are: names are DNS labels, and variables are the Rollout author's own PromQL.
 */
export function renderQuery(query: string, ctx: TemplateContext): RenderResult {
  const checked = checkQuery(query);
  if (checked !== undefined) return { ok: false, message: checked };
  const missing = new Set<string>();
  const rendered = query.replace(PLACEHOLDER, (all, inner: string) => {
    const p = readPlaceholder(inner);
    if (p === undefined) return all; // checkQuery refused these
    if (p.kind === "name") return ctx[p.name];
    const value = Object.hasOwn(ctx.variables, p.key) ? ctx.variables[p.key] : undefined;
    if (value === undefined) missing.add(p.key);
    return value ?? "";
  });
  if (missing.size > 0) {
    const keys = Object.keys(ctx.variables);
    const has = keys.length === 0 ? "none are set" : `set: ${keys.join(", ")}`;
    const names = [...missing].map((k) => `variables.${k}`).join(", ");
    return { ok: false, message: `the query uses ${names}, not in templateVariables (${has})` };
  }
  return { ok: true, query: rendered };
}

/** Undefined when every `{{ … }}` is a known placeholder; otherwise what is wrong. */
export function checkQuery(query: string): string | undefined {
  for (const m of query.matchAll(PLACEHOLDER)) {
    if (readPlaceholder(m[1] ?? "") === undefined) {
      return `unknown placeholder ${m[0]} at offset ${m.index}: ${HELP}`;
    }
  }
  const stray = query.replace(PLACEHOLDER, "").indexOf("{{");
  if (stray >= 0) return `a "{{" is not closed by "}}": ${HELP}`;
  return undefined;
}

function readPlaceholder(inner: string): Placeholder | undefined {
  const m = EXPRESSION.exec(inner);
  if (m === null) return undefined;
  const [, name, key] = m;
  if (key !== undefined) return { kind: "variable", key };
  const known = NAMES.find((n) => n === name);
  return known === undefined ? undefined : { kind: "name", name: known };
}

/** Parses a MetricTemplate object as read from the API server. */
export function parseMetricTemplate(obj: unknown): TemplateParseResult {
  try {
    const root = Field.root(obj);
    const meta = root.at("metadata").object();
    const spec = root.at("spec").object();
    const p = spec.at("provider").object();
    const address = p.at("address").string();
    if (!/^https?:\/\/[^/?#\s]+/.test(address)) {
      p.at("address").fail(`${JSON.stringify(address)} is not an http or https URL`);
    }
    const secretName = p.at("secretRef").optional((r) => r.object().at("name").string());
    const query = spec.at("query").string();
    const problem = checkQuery(query);
    if (problem !== undefined) spec.at("query").fail(problem);
    return {
      ok: true,
      template: {
        namespace: meta.at("namespace").string(),
        name: meta.at("name").string(),
        provider: {
          type: p.at("type").oneOf(PROVIDER_TYPES, "prometheus"),
          address,
          ...(secretName === undefined ? {} : { secretRef: { name: secretName } }),
          insecureSkipVerify: p.at("insecureSkipVerify").bool(false),
        },
        query,
      },
    };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

export type CredentialsResult =
  | { readonly ok: true; readonly credentials: ProviderCredentials }
  | { readonly ok: false; readonly message: string };

/**
 * The credentials in a Secret's `data` (base64, as the API server returns it): `token` for a
 * bearer token, or `username` and `password` for basic auth, and optionally `ca.crt`.
 */
export function credentialsFromSecret(
  secretName: string,
  data: Readonly<Record<string, string>> | undefined,
): CredentialsResult {
  const get = (key: string): string | undefined => {
    const v = data !== undefined && Object.hasOwn(data, key) ? data[key] : undefined;
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  const token = get("token");
  const username = get("username");
  const password = get("password");
  const ca = get("ca.crt");
  const withCa = ca === undefined ? {} : { ca };
  const secret = `Secret ${secretName}`;
  if (token !== undefined && (username !== undefined || password !== undefined)) {
    return { ok: false, message: `${secret} has both token and username/password: keep one` };
  }
  if (token !== undefined)
    return { ok: true, credentials: { auth: { kind: "bearer", token }, ...withCa } };
  if (username !== undefined && password !== undefined) {
    return { ok: true, credentials: { auth: { kind: "basic", username, password }, ...withCa } };
  }
  if (username !== undefined || password !== undefined) {
    return {
      ok: false,
      message: `${secret} has ${username === undefined ? "password" : "username"} without ${username === undefined ? "username" : "password"}`,
    };
  }
  if (ca !== undefined) return { ok: true, credentials: withCa };
  return { ok: false, message: `${secret} has none of token, username and password, ca.crt` };
}

/** How to reach a template's provider. */
export function providerOptions(
  provider: ProviderSpec,
  credentials: ProviderCredentials,
): PrometheusOptions {
  return {
    address: provider.address,
    ...(credentials.auth === undefined ? {} : { auth: credentials.auth }),
    tls: {
      insecureSkipVerify: provider.insecureSkipVerify,
      ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
    },
  };
}
