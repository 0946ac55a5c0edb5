import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { CA_LOADER_OPTIONS, CA_PROTO_JSON } from "../../../src/pki/certificate-service.js";

const PROTO = fileURLToPath(new URL("../../../src/pki/ca.proto", import.meta.url));

interface FieldDesc {
  name: string;
  number: number;
  type: string;
  label: string;
}

function shape(pkg: protoLoader.PackageDefinition): unknown {
  const svc = pkg["vireo.ca.v1.CertificateService"] as protoLoader.ServiceDefinition;
  const method = svc.CreateCertificate;
  assert.ok(method);
  const fields = (name: string): FieldDesc[] =>
    (
      (pkg[name] as protoLoader.MessageTypeDefinition<unknown, unknown>).type as {
        field: FieldDesc[];
      }
    ).field.map(({ name: n, number, type, label }) => ({ name: n, number, type, label }));
  return {
    path: method.path,
    stream: [method.requestStream, method.responseStream],
    request: fields("vireo.ca.v1.CreateCertificateRequest"),
    response: fields("vireo.ca.v1.CreateCertificateResponse"),
  };
}

describe("pki: the certificate service's built-in definition", () => {
  it("describes exactly what ca.proto (the contract) does", () => {
    const fromFile = shape(protoLoader.loadSync(PROTO, CA_LOADER_OPTIONS));
    const builtIn = shape(protoLoader.fromJSON(CA_PROTO_JSON, CA_LOADER_OPTIONS));
    assert.deepEqual(builtIn, fromFile);
    assert.equal(
      (fromFile as { path: string }).path,
      "/vireo.ca.v1.CertificateService/CreateCertificate",
    );
  });
});
