// The controller's CertificateService (src/pki/ca.proto), called over the xDS port's channel.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { VireoError } from "../../src/common/errors.js";
import { CA_LOADER_OPTIONS, CA_PROTO_JSON } from "../../src/pki/certificate-service.js";

export interface IssuedCertificate {
  /** PEM, leaf first. */
  readonly certChain: readonly string[];
  /** PEM roots currently trusted. */
  readonly trustBundle: string;
}

export type IssueCertificate = (
  csrPem: string,
  validitySeconds: number,
) => Promise<IssuedCertificate>;

interface CreateResponse {
  readonly cert_chain: readonly string[];
  readonly trust_bundle: string;
}

type Unary = (
  req: { csr: string; validity_seconds: string },
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: CreateResponse) => void,
) => void;

interface CaClientStub extends grpc.Client {
  CreateCertificate: Unary;
}

type CaClientCtor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => CaClientStub;

function loadCtor(): CaClientCtor {
  // The controller's JSON form of ca.proto: no .proto file is needed at run time.
  const def = protoLoader.fromJSON(CA_PROTO_JSON, CA_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    vireo: { ca: { v1: { CertificateService: CaClientCtor } } };
  };
  return pkg.vireo.ca.v1.CertificateService;
}

export interface CaClient {
  readonly issue: IssueCertificate;
  close(): void;
}

/** A client of `address`; each call has `timeoutMs` to complete. */
export function createCaClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  timeoutMs = 10_000,
  channelOptions: grpc.ChannelOptions = {},
): CaClient {
  const Ctor = loadCtor();
  const client = new Ctor(address, credentials, channelOptions);
  const issue: IssueCertificate = (csrPem, validitySeconds) =>
    new Promise((resolve, reject) => {
      client.CreateCertificate(
        { csr: csrPem, validity_seconds: String(Math.max(0, Math.floor(validitySeconds))) },
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err !== null || res === undefined) {
            const detail =
              err === null ? "empty response" : `${grpc.status[err.code]}: ${err.details}`;
            reject(
              new VireoError("CertificateRefused", `CreateCertificate at ${address}: ${detail}`, {
                cause: err,
              }),
            );
            return;
          }
          if (res.cert_chain.length === 0) {
            reject(
              new VireoError(
                "CertificateRefused",
                `CreateCertificate at ${address}: no certificate chain`,
              ),
            );
            return;
          }
          resolve({ certChain: res.cert_chain, trustBundle: res.trust_bundle });
        },
      );
    });
  return {
    issue,
    close: () => {
      client.close();
    },
  };
}
