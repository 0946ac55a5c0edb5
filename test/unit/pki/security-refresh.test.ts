import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { AuthenticationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { FakeClock } from "../../../src/common/clock.js";
import { ISSUER_TTL_MS, generateCa, renewIssuer } from "../../../src/pki/ca-material.js";
import type { CaSecretData } from "../../../src/pki/ca-material.js";
import { renewalTime, validityOf } from "../../../src/pki/ca-lifecycle.js";
import { ControllerSecurity } from "../../../src/pki/security.js";
import type { LoopbackApiServer } from "../kube/loopback-apiserver.js";
import { json, startLoopbackApiServer } from "../kube/loopback-apiserver.js";
import { recordingLog } from "../kube/recording-log.js";

const TD = "cluster.local";
const SECRET_PATH = "/api/v1/namespaces/vireo-system/secrets/vireo-ca";

/** Secret vireo-ca as the API server keeps it: base64 data and a resourceVersion. */
interface StoredSecret {
  data: Record<string, string>;
  resourceVersion: number;
}

const encode = (d: CaSecretData): Record<string, string> =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
const decode = (d: Record<string, string>): CaSecretData =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as unknown;
}

describe("pki: ControllerSecurity.refresh against a loopback API server", function () {
  this.timeout(60_000);
  let server: LoopbackApiServer | undefined;
  let security: ControllerSecurity | undefined;
  afterEach(async () => {
    security?.stop();
    await server?.close();
    server = undefined;
  });

  async function start(
    initial: CaSecretData,
    clock: FakeClock,
    opts: { conflictOnPut?: boolean } = {},
  ): Promise<{ stored: StoredSecret; bundles: string[]; log: ReturnType<typeof recordingLog> }> {
    const stored: StoredSecret = { data: encode(initial), resourceVersion: 1 };
    server = await startLoopbackApiServer((req, res) => {
      if (req.url === SECRET_PATH && req.method === "GET") {
        json(res, 200, {
          metadata: { name: "vireo-ca", resourceVersion: String(stored.resourceVersion) },
          data: stored.data,
        });
        return;
      }
      if (req.url === SECRET_PATH && req.method === "PUT") {
        void body(req).then((b) => {
          const s = b as { metadata: { resourceVersion?: string }; data: Record<string, string> };
          if (
            opts.conflictOnPut === true ||
            (s.metadata.resourceVersion !== undefined &&
              s.metadata.resourceVersion !== String(stored.resourceVersion))
          ) {
            json(res, 409, { kind: "Status", reason: "Conflict", code: 409 });
            return;
          }
          stored.data = s.data;
          stored.resourceVersion++;
          json(res, 200, { metadata: { name: "vireo-ca" }, data: s.data });
        });
        return;
      }
      // The root ConfigMap in the one watched namespace.
      if (req.method === "GET") json(res, 404, { kind: "Status", code: 404 });
      else json(res, 201, {});
    });
    const bundles: string[] = [];
    const log = recordingLog();
    security = await ControllerSecurity.start({
      core: server.kc.makeApiClient(CoreV1Api),
      authn: server.kc.makeApiClient(AuthenticationV1Api),
      clock,
      log,
      namespace: "vireo-system",
      trustDomain: TD,
      serviceName: "vireo",
      xdsHost: "127.0.0.1",
      onlyNamespace: "shop",
      onTrustBundle: (b) => bundles.push(b),
    });
    return { stored, bundles, log };
  }

  const issuerOf = (chainPem: string): string =>
    new X509Certificate(chainPem.slice(chainPem.indexOf("-----END CERTIFICATE-----") + 26))
      .fingerprint256;

  it("renews a due issuer into the Secret (with its resourceVersion) and serves from it", async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(t0 + DAY);
    const { stored, bundles, log } = await start(ca.data, clock);
    const before = issuerOf(security?.serverCertificate() ?? "");

    await security?.refresh();
    assert.equal(stored.resourceVersion, 1, "not due: nothing written");

    const due = renewalTime(validityOf(ca.data["ca-cert.pem"] ?? ""));
    await clock.advance(due - clock.now());
    await security?.refresh();
    assert.equal(stored.resourceVersion, 2);
    const written = decode(stored.data);
    assert.equal(written["root-cert.pem"], ca.data["root-cert.pem"]);
    assert.equal(validityOf(written["ca-cert.pem"] ?? "").notAfter, due + ISSUER_TTL_MS);
    const after = issuerOf(security?.serverCertificate() ?? "");
    assert.notEqual(after, before);
    assert.equal(after, new X509Certificate(written["ca-cert.pem"] ?? "").fingerprint256);
    assert.deepEqual(bundles, [], "same root: the trust bundle did not change");
    assert.ok(log.lines.some((l) => l.message === "issuing CA renewed"));
    assert.ok((security?.expiry().issuer ?? 0) > due);

    // Read back on the next refresh: no second renewal, nothing reloaded.
    await security?.refresh();
    assert.equal(stored.resourceVersion, 2);
  });

  it("leaves a renewal another replica won (409) to be read at the next refresh", async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(renewalTime(validityOf(ca.data["ca-cert.pem"] ?? "")));
    const { stored } = await start(ca.data, clock, { conflictOnPut: true });
    const before = security?.expiry().issuer;
    await security?.refresh();
    assert.equal(stored.resourceVersion, 1);
    assert.equal(security?.expiry().issuer, before, "its own renewal was not kept");
  });

  it("picks up an issuer written to the Secret by someone else, without a restart", async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const ca = generateCa(TD, t0);
    const clock = new FakeClock(t0 + DAY);
    const { stored, bundles } = await start(ca.data, clock);
    const replaced = renewIssuer(ca.data, TD, clock.now());
    stored.data = encode(replaced);
    stored.resourceVersion = 7;
    await security?.refresh();
    assert.equal(
      issuerOf(security?.serverCertificate() ?? ""),
      new X509Certificate(replaced["ca-cert.pem"] ?? "").fingerprint256,
    );
    assert.deepEqual(bundles, []);
    assert.equal(stored.resourceVersion, 7);
  });
});

const DAY = 24 * 3600 * 1000;
