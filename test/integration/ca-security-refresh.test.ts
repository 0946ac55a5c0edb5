// ControllerSecurity.refresh against the real API server's Secret vireo-ca: a due issuer renewed
// with the Secret's resourceVersion as precondition, a renewal lost to another replica (a real 409:
// our fault injector lets that replica write first), and an issuer written by someone else picked
// up without a restart.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { AuthenticationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { FakeClock } from "../../src/common/clock.js";
import { renewalTime, validityOf } from "../../src/pki/ca-lifecycle.js";
import type { CaSecretData } from "../../src/pki/ca-material.js";
import { CA_SECRET, ISSUER_TTL_MS, generateCa, renewIssuer } from "../../src/pki/ca-material.js";
import { ControllerSecurity } from "../../src/pki/security.js";
import { recordingLog } from "../support/recording-log.js";
import type { ApiFaultProxy } from "./api-fault-proxy.js";
import { startApiFaultProxy } from "./api-fault-proxy.js";
import { cluster, useNamespace } from "./harness.js";

const TD = "cluster.local";
const DAY = 24 * 3600 * 1000;

/** Certificates keep whole seconds: a clock on a whole second makes their times exact. */
const wholeSecondNow = (): number => Math.floor(Date.now() / 1000) * 1000;

const encode = (d: CaSecretData): Record<string, string> =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
const decode = (d: Record<string, string> | undefined): CaSecretData =>
  Object.fromEntries(
    Object.entries(d ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );

const issuerOf = (chainPem: string): string =>
  new X509Certificate(chainPem.slice(chainPem.indexOf("-----END CERTIFICATE-----") + 26))
    .fingerprint256;

describe("pki: ControllerSecurity.refresh against the real API server", function () {
  this.timeout(120_000);
  const ns = useNamespace("ca-refresh");
  let proxy: ApiFaultProxy | undefined;
  let security: ControllerSecurity | undefined;

  afterEach(async () => {
    security?.stop();
    security = undefined;
    await proxy?.close();
    proxy = undefined;
    await cluster()
      .core.deleteNamespacedSecret({ name: CA_SECRET, namespace: ns() })
      .catch(() => undefined);
  });

  /** The Secret as the API server holds it. */
  async function stored(): Promise<{ data: CaSecretData; resourceVersion: string }> {
    const s = await cluster().core.readNamespacedSecret({ name: CA_SECRET, namespace: ns() });
    return { data: decode(s.data), resourceVersion: s.metadata?.resourceVersion ?? "" };
  }

  async function start(initial: CaSecretData, clock: FakeClock): Promise<ApiFaultProxy> {
    await cluster().core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: CA_SECRET }, type: "Opaque", data: encode(initial) },
    });
    const p = await startApiFaultProxy();
    proxy = p;
    security = await ControllerSecurity.start({
      core: p.kc.makeApiClient(CoreV1Api),
      authn: p.kc.makeApiClient(AuthenticationV1Api),
      clock,
      log: recordingLog(),
      namespace: ns(),
      trustDomain: TD,
      serviceName: "vireo",
      xdsHost: "127.0.0.1",
      onlyNamespace: ns(),
      onTrustBundle: () => undefined,
    });
    return p;
  }

  const secretPath = (): string => `/api/v1/namespaces/${ns()}/secrets/${CA_SECRET}`;

  it("renews a due issuer into the Secret, with its resourceVersion, and serves from it", async () => {
    const t0 = wholeSecondNow();
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(t0 + DAY);
    const p = await start(ca.data, clock);
    const s = security ?? assert.fail("not started");
    const before = issuerOf(s.serverCertificate());
    const v1 = await stored();

    await s.refresh();
    assert.equal((await stored()).resourceVersion, v1.resourceVersion, "not due: nothing written");

    const due = renewalTime(validityOf(ca.data["ca-cert.pem"] ?? ""));
    await clock.advance(due - clock.now());
    await s.refresh();
    const v2 = await stored();
    assert.notEqual(v2.resourceVersion, v1.resourceVersion);
    const puts = p.requests.filter((r) => r.method === "PUT" && r.url === secretPath());
    assert.equal(puts.length, 1);
    const sent = JSON.parse(puts[0]?.body ?? "{}") as { metadata?: { resourceVersion?: string } };
    assert.equal(
      sent.metadata?.resourceVersion,
      v1.resourceVersion,
      "written with its precondition",
    );
    assert.equal(v2.data["root-cert.pem"], ca.data["root-cert.pem"]);
    assert.equal(validityOf(v2.data["ca-cert.pem"] ?? "").notAfter, due + ISSUER_TTL_MS);
    const after = issuerOf(s.serverCertificate());
    assert.notEqual(after, before);
    assert.equal(after, new X509Certificate(v2.data["ca-cert.pem"] ?? "").fingerprint256);
    assert.ok(s.expiry().issuer > due);

    // Read back on the next refresh: no second renewal.
    await s.refresh();
    assert.equal((await stored()).resourceVersion, v2.resourceVersion);
  });

  it("leaves a renewal another replica won (a real 409) to be read at the next refresh", async () => {
    const t0 = wholeSecondNow();
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(renewalTime(validityOf(ca.data["ca-cert.pem"] ?? "")));
    const p = await start(ca.data, clock);
    const s = security ?? assert.fail("not started");
    const other = renewIssuer(ca.data, TD, clock.now());
    // The other replica writes its renewal just before this one's write reaches the API server.
    let raced = false;
    p.fault = async (r) => {
      if (r.method === "PUT" && r.url === secretPath() && !raced) {
        raced = true;
        const cur = await cluster().core.readNamespacedSecret({ name: CA_SECRET, namespace: ns() });
        await cluster().core.replaceNamespacedSecret({
          name: CA_SECRET,
          namespace: ns(),
          body: { ...cur, data: encode(other) },
        });
      }
      return undefined;
    };
    const before = s.expiry().issuer;
    await s.refresh();
    assert.equal(raced, true, "the write was attempted");
    assert.deepEqual((await stored()).data, other, "the winner's Secret stands");
    assert.equal(s.expiry().issuer, before, "its own renewal was not kept");

    await s.refresh();
    assert.equal(
      issuerOf(s.serverCertificate()),
      new X509Certificate(other["ca-cert.pem"] ?? "").fingerprint256,
      "the winner's issuer is read at the next refresh",
    );
  });

  it("picks up an issuer written to the Secret by someone else, without a restart", async () => {
    const t0 = wholeSecondNow();
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(t0 + DAY);
    await start(ca.data, clock);
    const s = security ?? assert.fail("not started");
    const replaced = renewIssuer(ca.data, TD, clock.now());
    const cur = await cluster().core.readNamespacedSecret({ name: CA_SECRET, namespace: ns() });
    await cluster().core.replaceNamespacedSecret({
      name: CA_SECRET,
      namespace: ns(),
      body: { ...cur, data: encode(replaced) },
    });
    const written = (await stored()).resourceVersion;
    await s.refresh();
    assert.equal(
      issuerOf(s.serverCertificate()),
      new X509Certificate(replaced["ca-cert.pem"] ?? "").fingerprint256,
    );
    assert.equal((await stored()).resourceVersion, written, "read, not written back");
  });

  it("renews an issuer written to the Secret already due in the same refresh, not the next", async () => {
    const t0 = wholeSecondNow();
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(t0 + DAY);
    await start(ca.data, clock);
    const s = security ?? assert.fail("not started");
    // Someone restores an old issuer: past two thirds of its life when it is written.
    const old = renewIssuer(ca.data, TD, clock.now() - (ISSUER_TTL_MS * 3) / 4);
    const cur = await cluster().core.readNamespacedSecret({ name: CA_SECRET, namespace: ns() });
    await cluster().core.replaceNamespacedSecret({
      name: CA_SECRET,
      namespace: ns(),
      body: { ...cur, data: encode(old) },
    });
    await s.refresh();
    const after = (await stored()).data["ca-cert.pem"] ?? "";
    assert.notEqual(after, old["ca-cert.pem"], "renewed in this refresh");
    assert.equal(validityOf(after).notAfter - clock.now() > ISSUER_TTL_MS - DAY, true);
    assert.equal(issuerOf(s.serverCertificate()), new X509Certificate(after).fingerprint256);
  });
});
