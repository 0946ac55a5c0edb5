// A root rotation written to Secret vireo-ca reaches everything the controller serves: the trust
// bundle holds old and new roots, the root ConfigMap follows, new certificates chain to the new
// root, and the xDS port's own certificate is re-issued under it.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { AuthenticationV1Api } from "@kubernetes/client-node";
import { FakeClock, systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { rotateRoot } from "../../src/pki/ca-material.js";
import { readCaSecret, writeCaSecret } from "../../src/pki/ca-secret.js";
import { ControllerSecurity } from "../../src/pki/security.js";
import { splitPem } from "../../src/pki/x509.js";
import { XdsServer } from "../../src/xds/server/xds-server.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { makeCsr } from "../unit/pki/csr.js";
import { cluster, useNamespace } from "./harness.js";

const log = createLogger({ component: "ca-rotation-it", level: "error" });

describe("CA root rotation through the Secret (real API server)", function () {
  this.timeout(120_000);
  const ns = useNamespace("ca-rotation");

  it("renews the xDS port's certificate at half its life", async () => {
    const { kc, core } = cluster();
    const clock = new FakeClock(Date.now());
    const security = await ControllerSecurity.start({
      core,
      authn: kc.makeApiClient(AuthenticationV1Api),
      clock,
      log,
      namespace: ns(),
      trustDomain: "cluster.local",
      serviceName: "vireo",
      xdsHost: "127.0.0.1",
      onlyNamespace: ns(),
      onTrustBundle: () => undefined,
    });
    try {
      const first = security.serverCertificate();
      const notAfter = Date.parse(new X509Certificate(first).validTo);
      await security.refresh();
      assert.equal(security.serverCertificate(), first);
      await clock.advance(((notAfter - clock.now()) * 3) / 5);
      await security.refresh();
      const renewed = new X509Certificate(security.serverCertificate());
      assert.notEqual(security.serverCertificate(), first);
      assert.ok(Date.parse(renewed.validTo) > notAfter);
      assert.match(
        renewed.subjectAltName ?? "",
        /DNS:vireo\.[^,]+\.svc, .*IP Address:127\.0\.0\.1/,
      );
    } finally {
      security.stop();
    }
  });

  it("trusts old and new roots, publishes both, and re-issues the port's certificate", async () => {
    const { kc, core } = cluster();
    const bundles: string[] = [];
    const deps = {
      core,
      authn: kc.makeApiClient(AuthenticationV1Api),
      clock: systemClock,
      log,
      namespace: ns(),
      trustDomain: "cluster.local",
      serviceName: "vireo",
      xdsHost: "127.0.0.1",
      onlyNamespace: ns(),
      onTrustBundle: (b: string) => bundles.push(b),
    };
    const security = await ControllerSecurity.start(deps);
    const server = new XdsServer({ log, clock: systemClock, auth: security.authenticator });
    const port = await server.listen(0, "127.0.0.1", security.credentials());
    try {
      const oldRoot = security.trustBundle();
      const id = { trustDomain: "cluster.local", namespace: ns(), serviceAccount: "a" };
      const before = security.authority.issue(makeCsr().csrPem, id);

      const data = await readCaSecret({ ...deps, now: () => Date.now() });
      assert.ok(data);
      await writeCaSecret(
        { ...deps, now: () => Date.now() },
        rotateRoot(data, "cluster.local", Date.now()).data,
      );
      await security.refresh();

      const roots = splitPem(security.trustBundle());
      assert.equal(roots.length, 2);
      assert.equal(bundles.length, 1);
      assert.ok(security.trustBundle().includes(splitPem(oldRoot)[0] ?? "x"));
      const cm = await core.readNamespacedConfigMap({
        name: "vireo-ca-root-cert",
        namespace: ns(),
      });
      assert.equal(cm.data?.["root-cert.pem"], security.trustBundle());

      const after = security.authority.issue(makeCsr().csrPem, id);
      const newRoot = new X509Certificate(roots[0] ?? "");
      const issuerOf = (chain: readonly string[]) => new X509Certificate(chain[1] ?? "");
      assert.ok(
        issuerOf(after.certChain).verify(newRoot.publicKey),
        "new leaves chain to the new root",
      );
      assert.ok(!issuerOf(before.certChain).verify(newRoot.publicKey));

      // A client that trusts only the new root can reach the port: its certificate was re-issued.
      const csds = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
      const client = new csds(
        `127.0.0.1:${String(port)}`,
        grpc.credentials.createSsl(Buffer.from(roots[0] ?? "")),
      );
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.FetchClientStatus({}, (e) => {
          resolve(e);
        });
      });
      client.close();
      // Reached the server over TLS; refused only for having no credentials.
      assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
    } finally {
      security.stop();
      await server.close();
    }
  });
});
