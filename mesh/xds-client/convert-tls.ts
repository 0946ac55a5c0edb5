// Envoy TLS transport sockets (DownstreamTlsContext, UpstreamTlsContext) as the proxy's model.
// The proxy's own certificate is always the locally issued SDS secret `default`; trust comes from
// an SDS secret on the same ADS stream (`ROOTCA`). Inline keys or other sources are refused.
import type { TransportSocket__Output } from "../../src/xds/generated/envoy/config/core/v3/TransportSocket.js";
import type { CommonTlsContext__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js";
import type { DownstreamTlsContext__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.js";
import type { SdsSecretConfig__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/SdsSecretConfig.js";
import type { Secret__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import type { UpstreamTlsContext__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js";
import { typeUrlOf } from "../../src/xds/type-urls.js";
import type { StringMatcher } from "../routing/model.js";
import type { DownstreamTls, TrustBundle, UpstreamTls } from "../routing/security-model.js";
import { OWN_CERTIFICATE_SECRET } from "../routing/security-model.js";
import { stringMatcher } from "./convert-match.js";
import { checkAdsSource, fail, unpack } from "./proto-values.js";

const TLS_SOCKET = "envoy.transport_sockets.tls";

function sdsName(s: SdsSecretConfig__Output | null | undefined, what: string): string {
  if (s === null || s === undefined || s.name === "") fail(`${what} names no SDS secret`);
  checkAdsSource(s.sds_config, `${what} sds_config`);
  return s.name;
}

interface Common {
  readonly validationSecret: string;
  readonly uriSans: readonly StringMatcher[];
}

function common(c: CommonTlsContext__Output | null): Common {
  if (c === null) fail("common_tls_context is missing");
  if (c.tls_certificates.length > 0) fail("inline tls_certificates are not supported");
  const certs = c.tls_certificate_sds_secret_configs;
  if (certs.length !== 1 || certs[0]?.name !== OWN_CERTIFICATE_SECRET)
    fail(`tls_certificate_sds_secret_configs must be exactly "${OWN_CERTIFICATE_SECRET}"`);
  switch (c.validation_context_type) {
    case "validation_context_sds_secret_config":
      return {
        validationSecret: sdsName(c.validation_context_sds_secret_config, "validation context"),
        uriSans: [],
      };
    case "combined_validation_context": {
      const combined = c.combined_validation_context;
      const dflt = combined?.default_validation_context;
      if (dflt?.trusted_ca !== null && dflt?.trusted_ca !== undefined)
        fail("an inline trusted_ca is not supported (use the SDS trust bundle)");
      if ((dflt?.match_subject_alt_names.length ?? 0) > 0)
        fail("match_subject_alt_names is not supported (use match_typed_subject_alt_names)");
      const uriSans = (dflt?.match_typed_subject_alt_names ?? []).map((m, i) => {
        if (m.san_type !== "URI")
          fail(`subject alt name matcher ${i}: only URI SANs are supported`);
        return stringMatcher(m.matcher, `subject alt name matcher ${i}`);
      });
      return {
        validationSecret: sdsName(
          combined?.validation_context_sds_secret_config,
          "validation context",
        ),
        uriSans,
      };
    }
    case "validation_context":
      return fail("an inline validation_context is not supported (use the SDS trust bundle)");
    case "validation_context_certificate_provider":
    case "validation_context_certificate_provider_instance":
    case undefined:
      return fail(`validation context ${c.validation_context_type ?? "(none)"} is not supported`);
  }
}

function tlsSocket(
  t: TransportSocket__Output,
  expected: "DownstreamTlsContext" | "UpstreamTlsContext",
): unknown {
  if (t.name !== TLS_SOCKET) fail(`transport socket ${t.name} is not supported`);
  return unpack(t.typed_config, typeUrlOf(expected), `transport socket ${t.name}`);
}

export function downstreamTls(t: TransportSocket__Output): DownstreamTls {
  const ctx = tlsSocket(t, "DownstreamTlsContext") as DownstreamTlsContext__Output;
  const c = common(ctx.common_tls_context);
  if (c.uriSans.length > 0)
    fail("downstream subject alt name matchers are not supported (use RBAC)");
  return {
    requireClientCertificate: ctx.require_client_certificate?.value ?? false,
    validationSecret: c.validationSecret,
  };
}

/** A cluster's TLS, or undefined for plaintext. */
export function upstreamTls(t: TransportSocket__Output | null): UpstreamTls | undefined {
  if (t === null) return undefined;
  const ctx = tlsSocket(t, "UpstreamTlsContext") as UpstreamTlsContext__Output;
  const c = common(ctx.common_tls_context);
  return { sni: ctx.sni, validationSecret: c.validationSecret, uriSans: c.uriSans };
}

/** An SDS Secret: only trust bundles travel over xDS (the proxy's own key never does). */
export function trustBundle(s: Secret__Output): TrustBundle {
  if (
    s.type !== "validation_context" ||
    s.validation_context === null ||
    s.validation_context === undefined
  )
    fail(`only validation_context secrets are supported, not ${s.type ?? "(none)"}`);
  const ca = s.validation_context.trusted_ca;
  const pem =
    ca?.specifier === "inline_string"
      ? (ca.inline_string ?? "")
      : ca?.specifier === "inline_bytes"
        ? (ca.inline_bytes?.toString("utf8") ?? "")
        : fail("trusted_ca must be inline");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) fail("trusted_ca holds no PEM certificate");
  return { name: s.name, trustedCa: pem };
}
