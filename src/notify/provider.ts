// AlertProvider (crds/alertproviders.vireo.dev.yaml): where a Rollout's notifications go. The wire
// object is parsed once into a domain type; the Secrets it names are read when a message is sent,
// so a rotated webhook URL or signing key takes effect without a restart.
import { Field, WireError } from "../api/field.js";
import type { ParseFailureReason } from "../api/field.js";

export const ALERT_PROVIDER_GROUP = "vireo.dev";
export const ALERT_PROVIDER_VERSION = "v1alpha1";
export const ALERT_PROVIDER_PLURAL = "alertproviders";
export const ALERT_PROVIDER_KIND = "AlertProvider";

export const PROVIDER_TYPES = ["slack", "msteams", "discord", "googlechat", "webhook"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Secret keys: the webhook URL, and the generic webhook's HMAC signing key. */
export const ADDRESS_KEY = "address";
export const HMAC_KEY = "hmacKey";

/** The services that have a channel to override, or a sender name to show. */
const CHANNEL_TYPES: readonly ProviderType[] = ["slack"];
const USERNAME_TYPES: readonly ProviderType[] = ["slack", "discord"];

export type AddressSource =
  | { readonly kind: "inline"; readonly url: string }
  /** The Secret's `address` key, in the provider's namespace. */
  | { readonly kind: "secret"; readonly secretName: string };

export interface AlertProvider {
  readonly namespace: string;
  readonly name: string;
  readonly type: ProviderType;
  readonly address: AddressSource;
  readonly channel?: string;
  readonly username?: string;
  /** A Secret whose `hmacKey` signs the generic webhook's body; type webhook only. */
  readonly signingSecretName?: string;
}

export type ProviderParseResult =
  | { readonly ok: true; readonly provider: AlertProvider }
  | { readonly ok: false; readonly reason: ParseFailureReason; readonly message: string };

/** Parses an AlertProvider object as read from the API server; the message names the field. */
export function parseAlertProvider(obj: unknown): ProviderParseResult {
  try {
    const root = Field.root(obj);
    const meta = root.at("metadata").object();
    const spec = root.at("spec").object();
    const type = spec.at("type").oneOf(PROVIDER_TYPES);
    const source = spec.exactlyOne(["address", "secretRef"] as const);
    const address: AddressSource =
      source === "address"
        ? { kind: "inline", url: readUrl(spec.at("address")) }
        : { kind: "secret", secretName: spec.at("secretRef").object().at("name").string() };
    const channel = spec.at("channel").optional((c) => c.string());
    if (channel !== undefined && !CHANNEL_TYPES.includes(type)) {
      spec.at("channel").fail(`applies only to type ${CHANNEL_TYPES.join(", ")}, not ${type}`);
    }
    const username = spec.at("username").optional((u) => u.string());
    if (username !== undefined && !USERNAME_TYPES.includes(type)) {
      spec
        .at("username")
        .fail(`applies only to types ${USERNAME_TYPES.join(" and ")}, not ${type}`);
    }
    const signing = spec.at("signingSecretRef").optional((r) => r.object().at("name").string());
    if (signing !== undefined && type !== "webhook") {
      spec.at("signingSecretRef").fail(`applies only to type webhook, not ${type}`);
    }
    return {
      ok: true,
      provider: {
        namespace: meta.at("namespace").string(),
        name: meta.at("name").string(),
        type,
        address,
        ...(channel === undefined ? {} : { channel }),
        ...(username === undefined ? {} : { username }),
        ...(signing === undefined ? {} : { signingSecretName: signing }),
      },
    };
  } catch (err) {
    if (err instanceof WireError) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

function readUrl(f: Field): string {
  const url = f.string();
  if (!isHttpUrl(url)) f.fail(`${JSON.stringify(url)} is not an absolute http or https URL`);
  return url;
}

export function isHttpUrl(s: string): boolean {
  try {
    const { protocol, host } = new URL(s);
    return (protocol === "http:" || protocol === "https:") && host !== "";
  } catch {
    return false;
  }
}

/** A key of a Secret's `data` (base64, as the API server returns it), decoded. */
export function secretValue(
  data: Readonly<Record<string, string>> | undefined,
  key: string,
): Buffer | undefined {
  const v = data !== undefined && Object.hasOwn(data, key) ? data[key] : undefined;
  return v === undefined ? undefined : Buffer.from(v, "base64");
}

export type SecretRead =
  { readonly ok: true; readonly value: Buffer } | { readonly ok: false; readonly message: string };

/** The webhook URL from the Secret's `address` key; surrounding whitespace is dropped. */
export function addressFromSecret(
  secretName: string,
  data: Readonly<Record<string, string>> | undefined,
): { readonly ok: true; readonly url: string } | { readonly ok: false; readonly message: string } {
  const raw = secretValue(data, ADDRESS_KEY);
  if (raw === undefined) return { ok: false, message: `Secret ${secretName} has no key address` };
  const url = raw.toString("utf8").trim();
  if (!isHttpUrl(url)) {
    return {
      ok: false,
      message: `Secret ${secretName} key address is not an absolute http or https URL`,
    };
  }
  return { ok: true, url };
}

/** The signing key from the Secret's `hmacKey` key, as bytes; it must not be empty. */
export function hmacKeyFromSecret(
  secretName: string,
  data: Readonly<Record<string, string>> | undefined,
): SecretRead {
  const key = secretValue(data, HMAC_KEY);
  if (key === undefined || key.length === 0) {
    return { ok: false, message: `Secret ${secretName} has no key hmacKey, or it is empty` };
  }
  return { ok: true, value: key };
}
