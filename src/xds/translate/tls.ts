// TLS pieces of the mesh: the ROOTCA secret, and the transport sockets that use the proxy's own
// certificate (SDS name `default`, resolved by the proxy itself) and the trust bundle (ROOTCA).
import type { TransportSocket } from "../generated/envoy/config/core/v3/TransportSocket.js";
import type { CommonTlsContext } from "../generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js";
import type { Secret } from "../generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import type { Codecs } from "../protos.js";
import { typeUrlOf } from "../protos.js";
import { DEFAULT_SECRET, ROOTCA_SECRET } from "../names.js";
import { ADS, packAny } from "./proto-values.js";

export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";

export type TlsCodecs = Pick<Codecs, "UpstreamTlsContext" | "DownstreamTlsContext">;

export function rootCaSecret(trustBundle: string): Secret {
  return {
    name: ROOTCA_SECRET,
    validation_context: { trusted_ca: { inline_string: trustBundle } },
  };
}

const ownCertificate: Pick<CommonTlsContext, "tls_certificate_sds_secret_configs"> = {
  tls_certificate_sds_secret_configs: [{ name: DEFAULT_SECRET, sds_config: ADS }],
};

/** Server side of mTLS: a client certificate under ROOTCA is required. */
export function downstreamMtls(codecs: TlsCodecs): TransportSocket {
  const ctx = codecs.DownstreamTlsContext.serialize({
    require_client_certificate: { value: true },
    common_tls_context: {
      ...ownCertificate,
      validation_context_sds_secret_config: { name: ROOTCA_SECRET, sds_config: ADS },
    },
  });
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: packAny(typeUrlOf("DownstreamTlsContext"), ctx),
  };
}

/**
 * Client side: present our certificate, and accept only a server whose URI SAN is one of the
 * identities the destination's pods run as (secure naming).
 */
export function upstreamMtls(
  codecs: TlsCodecs,
  sni: string,
  allowedSpiffeUris: readonly string[],
): TransportSocket {
  const ctx = codecs.UpstreamTlsContext.serialize({
    sni,
    common_tls_context: {
      ...ownCertificate,
      combined_validation_context: {
        default_validation_context: {
          match_typed_subject_alt_names: allowedSpiffeUris.map((uri) => ({
            san_type: "URI",
            matcher: { exact: uri },
          })),
        },
        validation_context_sds_secret_config: { name: ROOTCA_SECRET, sds_config: ADS },
      },
    },
  });
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: packAny(typeUrlOf("UpstreamTlsContext"), ctx),
  };
}
