// vireo.ca.v1.CertificateService: signs a workload's CSR for the service account its token proves,
// and no other. Served on the xDS port.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { isVireoError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { CertificateAuthority } from "./authority.js";
import type { CallerAuthenticator } from "./caller.js";

export interface CreateCertificateRequest {
  csr: string;
  validity_seconds: string;
}

export interface CreateCertificateResponse {
  cert_chain: string[];
  trust_bundle: string;
}

/**
 * ca.proto as protobuf.js JSON, so the compiled controller needs no .proto file at run time; a
 * unit test checks it describes the same messages as ca.proto.
 */
export const CA_PROTO_JSON: Parameters<typeof protoLoader.fromJSON>[0] = {
  nested: {
    vireo: {
      nested: {
        ca: {
          nested: {
            v1: {
              nested: {
                CertificateService: {
                  methods: {
                    CreateCertificate: {
                      requestType: "CreateCertificateRequest",
                      responseType: "CreateCertificateResponse",
                      comment: "",
                    },
                  },
                },
                CreateCertificateRequest: {
                  fields: {
                    csr: { type: "string", id: 1 },
                    validity_seconds: { type: "int64", id: 2 },
                  },
                },
                CreateCertificateResponse: {
                  fields: {
                    cert_chain: { rule: "repeated", type: "string", id: 1 },
                    trust_bundle: { type: "string", id: 2 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export const CA_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  defaults: true,
};

let definition: grpc.ServiceDefinition | undefined;

/** The service definition (longs as strings, field names as written). */
export function certificateServiceDefinition(): grpc.ServiceDefinition {
  if (definition !== undefined) return definition;
  const pkg = protoLoader.fromJSON(CA_PROTO_JSON, CA_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    vireo: { ca: { v1: { CertificateService: { service: grpc.ServiceDefinition } } } };
  };
  definition = loaded.vireo.ca.v1.CertificateService.service;
  return definition;
}

export interface CertificateServiceDeps {
  readonly authority: CertificateAuthority;
  readonly authenticator: CallerAuthenticator;
  readonly trustDomain: string;
  readonly log: Logger;
}

type Unary = grpc.handleUnaryCall<CreateCertificateRequest, CreateCertificateResponse>;

export function certificateServiceHandlers(deps: CertificateServiceDeps): {
  CreateCertificate: Unary;
} {
  const fail = (
    cb: grpc.sendUnaryData<CreateCertificateResponse>,
    code: grpc.status,
    details: string,
  ): void => {
    cb({ code, details, name: "CertificateServiceError", message: details });
  };
  return {
    CreateCertificate: (call, cb) => {
      // Only a token says which service account to issue for: a certificate cannot renew itself
      // into a longer life without the API server seeing the pod still exists.
      void deps.authenticator.authenticate(call, false).then((auth) => {
        if (!auth.ok || auth.caller.kind !== "token") {
          fail(
            cb,
            grpc.status.UNAUTHENTICATED,
            auth.ok ? "a service-account token is required" : auth.reason,
          );
          return;
        }
        const { namespace, serviceAccount } = auth.caller;
        try {
          const issued = deps.authority.issue(
            call.request.csr,
            { trustDomain: deps.trustDomain, namespace, serviceAccount },
            Number(call.request.validity_seconds),
          );
          deps.log.debug("issued a workload certificate", { namespace, serviceAccount });
          cb(null, { cert_chain: [...issued.certChain], trust_bundle: issued.trustBundle });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (isVireoError(err, "CsrIdentityMismatch"))
            fail(cb, grpc.status.PERMISSION_DENIED, message);
          else if (isVireoError(err, "BadCsr")) fail(cb, grpc.status.INVALID_ARGUMENT, message);
          else if (isVireoError(err, "IssuerExpired")) {
            // The caller keeps its current certificate and retries; the log says why.
            deps.log.error("certificate not issued", { error: message });
            fail(cb, grpc.status.UNAVAILABLE, message);
          } else {
            deps.log.error("certificate issuance failed", { error: message });
            fail(cb, grpc.status.INTERNAL, "certificate issuance failed");
          }
        }
      });
    },
  };
}
