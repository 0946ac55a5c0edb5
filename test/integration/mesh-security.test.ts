// Identity, mTLS and authorization underneath, on the local cluster with real sidecars: the
// controller's CA issues each proxy a certificate for its service account (projected token,
// audience "vireo"), proxies talk mutual TLS, and the server side enforces PeerAuthentication and
// AuthorizationPolicy. The test process plays the plaintext client and the holder of forged or
// expired certificates.
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { V1Container } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { validityOf } from "../../src/pki/ca-lifecycle.js";
import { CA_SECRET } from "../../src/pki/ca-material.js";
import { createIntermediate } from "../../src/pki/x509.js";
import { createCaClient } from "../../mesh/tls/ca-client.js";
import { createKeyAndCsr } from "../../mesh/tls/csr.js";
import { leafFacts } from "../../mesh/tls/peer.js";
import { controlPlaneCredentials } from "../../mesh/tls/token.js";
import { ensureCrd } from "./crds.js";
import {
  cluster,
  controllerConfig,
  eventually,
  podLogPath,
  repoRoot,
  useNamespace,
} from "./harness.js";
import { GATEWAY, meshVolumes, sidecar } from "./mesh-pods.js";
import { testCa, workloadCertificate } from "../unit/mesh/mesh-pki.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

/** Workload certificates live this long, so they rotate every couple of seconds. */
const CERT_SECONDS = 6;
const vireo = (plural: string) => ({ group: "vireo.dev", version: "v1alpha1", plural });

/** A sidecar with certificates that live CERT_SECONDS, naming its service account in metrics. */
function meshSidecar(xds: string, sa: string, inbound?: string): V1Container {
  return sidecar({
    xds,
    logLevel: "info",
    env: { VIREO_CERT_VALIDITY_SECONDS: String(CERT_SECONDS), SERVICE_ACCOUNT: sa },
    ...(inbound === undefined ? {} : { inbound }),
  });
}

/** A request over a fresh connection: the status, or what went wrong. */
function request(
  options: http.RequestOptions & { tlsOptions?: tls.ConnectionOptions },
): Promise<string> {
  return new Promise((resolve) => {
    const { tlsOptions, ...o } = options;
    const req = http.request(
      {
        ...o,
        timeout: 5_000,
        // With `agent: false` node would use a fresh Agent's connection, not createConnection.
        ...(tlsOptions === undefined && { agent: false }),
        ...(tlsOptions !== undefined && {
          createConnection: () =>
            tls.connect({ host: o.host ?? "", port: Number(o.port), ...tlsOptions }),
        }),
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve(String(res.statusCode));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) => {
      resolve(`error ${e.code ?? e.message}`);
    });
    req.end();
  });
}

describe("mesh security on the local cluster (issue #9)", function () {
  this.timeout(300_000);
  const ns = useNamespace("mesh-sec");
  // The controller's own namespace is the mesh's root namespace, where policies without a
  // selector are mesh-wide and workload selectors are ignored (Istio): the workloads live apart.
  const root = useNamespace("mesh-sec-root");
  let running: RunningController | undefined;
  let xds = "";
  let rootPem = "";
  let reviewsIp = "";
  const custom = (): CustomObjectsApi => cluster().kc.makeApiClient(CustomObjectsApi);

  async function podOf(app: string): Promise<{ name: string; ip: string }> {
    return eventually(
      `a ready ${app} pod`,
      async () => {
        const pods = await cluster().core.listNamespacedPod({
          namespace: ns(),
          labelSelector: `app=${app}`,
        });
        const p = pods.items.find(
          (x) =>
            x.metadata?.deletionTimestamp === undefined &&
            x.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
        );
        return p?.metadata?.name === undefined || p.status?.podIP === undefined
          ? undefined
          : { name: p.metadata.name, ip: p.status.podIP };
      },
      120_000,
    );
  }

  /** The status codes a client's curl loop printed after `from` characters of its log. */
  async function codes(app: string, from = 0): Promise<string[]> {
    const pod = await podOf(app);
    const log = await readFile(podLogPath(ns(), pod.name, "load"), "utf8").catch(() => "");
    return log
      .slice(from)
      .split("\n")
      .filter((l) => l !== "");
  }
  async function logLength(app: string): Promise<number> {
    const pod = await podOf(app);
    return (await readFile(podLogPath(ns(), pod.name, "load"), "utf8").catch(() => "")).length;
  }
  /** Waits until a client's last `n` requests all answered `code`. */
  async function settlesOn(app: string, code: string, n = 5): Promise<void> {
    const from = await logLength(app);
    await eventually(
      `${app}'s requests to answer ${code}`,
      async () => {
        const c = await codes(app, from);
        return c.length >= n && c.slice(-n).every((x) => x === code) ? true : undefined;
      },
      60_000,
      500,
    );
  }

  async function token(sa: string): Promise<string> {
    const r = await cluster().core.createNamespacedServiceAccountToken({
      namespace: ns(),
      name: sa,
      body: { spec: { audiences: ["vireo"], expirationSeconds: 600 } },
    });
    const t = r.status?.token;
    assert.ok(t !== undefined && t !== "");
    return t;
  }
  function tokenFile(t: string): string {
    const file = join(mkdtempSync(join(tmpdir(), "vireo-it-token-")), "token");
    writeFileSync(file, t);
    return file;
  }
  async function policy(plural: string, name: string, spec: object): Promise<void> {
    await custom().createNamespacedCustomObject({
      ...vireo(plural),
      namespace: ns(),
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: plural === "peerauthentications" ? "PeerAuthentication" : "AuthorizationPolicy",
        metadata: { name },
        spec,
      },
    });
  }
  async function deletePolicy(plural: string, name: string): Promise<void> {
    await custom().deleteNamespacedCustomObject({ ...vireo(plural), namespace: ns(), name });
  }

  function clientDeployment(app: string): object {
    const url = `http://reviews.${ns()}:80/`;
    return {
      metadata: { name: app },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: {
            serviceAccountName: app,
            terminationGracePeriodSeconds: 2,
            volumes: meshVolumes,
            containers: [
              {
                name: "load",
                image: "busybox",
                command: [
                  "sh",
                  "-c",
                  `while true; do curl -s -o /dev/null -m 5 -w '%{http_code}\\n' -x http://127.0.0.1:15001 ${url}; sleep 0.05; done`,
                ],
              },
              meshSidecar(xds, app),
            ],
          },
        },
      },
    };
  }

  before(async () => {
    for (const crd of ["peerauthentications", "authorizationpolicies"])
      await ensureCrd(join(repoRoot, `crds/${crd}.vireo.dev.yaml`));
    running = await startController(
      controllerConfig(ns(), { xdsHost: GATEWAY, namespace: root() }),
      () => undefined,
    );
    xds = `${GATEWAY}:${running.xdsPort}`;
    rootPem = await eventually("the vireo-ca-root-cert ConfigMap", async () => {
      const cm = await cluster().core.readNamespacedConfigMap({
        namespace: ns(),
        name: "vireo-ca-root-cert",
      });
      return cm.data?.["root-cert.pem"];
    });
    const { core, apps } = cluster();
    for (const sa of ["reviews", "productpage", "intruder"])
      await core.createNamespacedServiceAccount({
        namespace: ns(),
        body: { metadata: { name: sa } },
      });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: "reviews" },
        spec: {
          selector: { app: "reviews" },
          ports: [{ name: "http", port: 80, targetPort: 15006 }],
        },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: ns(),
      body: {
        metadata: { name: "reviews" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "reviews" } },
          template: {
            metadata: { labels: { app: "reviews" } },
            spec: {
              serviceAccountName: "reviews",
              terminationGracePeriodSeconds: 2,
              volumes: meshVolumes,
              containers: [
                {
                  name: "app",
                  image: "vireo/echo:v1",
                  args: ["--version=v1"],
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
                meshSidecar(xds, "reviews", "15006:8080"),
              ],
            },
          },
        },
      },
    });
    for (const app of ["productpage", "intruder"])
      await apps.createNamespacedDeployment({ namespace: ns(), body: clientDeployment(app) });
    reviewsIp = (await podOf("reviews")).ip;
    // No policy yet: PERMISSIVE, no authorization; both clients get through over mTLS.
    await settlesOn("productpage", "200");
    await settlesOn("intruder", "200");
  });

  after(async () => {
    await running?.stop();
  });

  it("issues a certificate for the token's service account and no other", async () => {
    const productpage = await token("productpage");
    const ca = createCaClient(xds, controlPlaneCredentials(rootPem, tokenFile(productpage)));
    const forged = createCaClient(xds, controlPlaneCredentials(rootPem, tokenFile("not-a-token")));
    try {
      const own = await createKeyAndCsr(`spiffe://cluster.local/ns/${ns()}/sa/productpage`);
      const issued = await ca.issue(own.csrPem, 60);
      assert.deepEqual(leafFacts(issued.certChain.join("")).uris, [
        `spiffe://cluster.local/ns/${ns()}/sa/productpage`,
      ]);
      const other = await createKeyAndCsr(`spiffe://cluster.local/ns/${ns()}/sa/reviews`);
      await assert.rejects(ca.issue(other.csrPem, 60), /PERMISSION_DENIED/);
      await assert.rejects(forged.issue(own.csrPem, 60), /UNAUTHENTICATED/);
    } finally {
      ca.close();
      forged.close();
    }
  });

  it("PERMISSIVE accepts a plaintext client; STRICT refuses it while mTLS goes on", async () => {
    const plain = { host: reviewsIp, port: 15006, path: "/", headers: { host: "reviews" } };
    assert.equal(await request(plain), "200");
    await policy("peerauthentications", "strict", { mtls: { mode: "STRICT" } });
    await eventually(
      "plaintext to be refused",
      async () => {
        const r = await request(plain);
        return r.startsWith("error") ? r : undefined;
      },
      60_000,
      500,
    );
    await settlesOn("productpage", "200");
    // The destination's proxy says how its requests came: mutual TLS, from productpage.
    const stats = await (await fetch(`http://${reviewsIp}:15020/stats/prometheus`)).text();
    const line = stats
      .split("\n")
      .find(
        (l) =>
          l.startsWith("vireo_requests_total{") &&
          l.includes('reporter="destination"') &&
          l.includes(`source_principal="spiffe://cluster.local/ns/${ns()}/sa/productpage"`),
      );
    assert.ok(line, "no destination series from productpage");
    assert.match(line, /connection_security_policy="mutual_tls"/);
  });

  it("a workload's port-level PERMISSIVE overrides the namespace's STRICT, until it is removed", async () => {
    const plain = { host: reviewsIp, port: 15006, path: "/", headers: { host: "reviews" } };
    await policy("peerauthentications", "reviews-port", {
      selector: { matchLabels: { app: "reviews" } },
      mtls: { mode: "STRICT" },
      portLevelMtls: { "15006": { mode: "PERMISSIVE" } },
    });
    await eventually(
      "plaintext to be accepted on the PERMISSIVE port",
      async () => {
        const r = await request(plain);
        return r === "200" ? r : undefined;
      },
      60_000,
      500,
    );
    await deletePolicy("peerauthentications", "reviews-port");
    await eventually(
      "plaintext to be refused again (namespace STRICT)",
      async () => {
        const r = await request(plain);
        return r.startsWith("error") ? r : undefined;
      },
      60_000,
      500,
    );
    await settlesOn("productpage", "200");
  });

  it("refuses certificates from a foreign CA, and expired ones", async () => {
    const base = { host: reviewsIp, port: 15006, path: "/", headers: { host: "reviews" } };
    const present = (key: string, cert: string) =>
      request({
        ...base,
        tlsOptions: { key, cert, ca: rootPem, checkServerIdentity: () => undefined },
      });
    // A certificate from the real CA gets through: what the refusals below are measured against.
    const t = await token("productpage");
    const ca = createCaClient(xds, controlPlaneCredentials(rootPem, tokenFile(t)));
    try {
      const good = await createKeyAndCsr(`spiffe://cluster.local/ns/${ns()}/sa/productpage`);
      const fresh = await ca.issue(good.csrPem, 120);
      assert.equal(await present(good.keyPem, fresh.certChain.join("")), "200");

      const foreign = await workloadCertificate(testCa(), ns(), "productpage");
      assert.match(await present(foreign.keyPem, foreign.chainPem), /^error/);

      const old = await createKeyAndCsr(`spiffe://cluster.local/ns/${ns()}/sa/productpage`);
      const expiring = await ca.issue(old.csrPem, 1);
      await new Promise((r) => setTimeout(r, 2_500));
      assert.ok(leafFacts(expiring.certChain.join("")).notAfter < Date.now());
      assert.match(await present(old.keyPem, expiring.certChain.join("")), /^error/);
    } finally {
      ca.close();
    }
  });

  it("AuthorizationPolicy: the allowed service account gets 200, another 403; DENY beats ALLOW", async () => {
    await policy("authorizationpolicies", "allow-productpage", {
      action: "ALLOW",
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns()}/sa/productpage`] } }] }],
    });
    await settlesOn("intruder", "403");
    await settlesOn("productpage", "200");
    await policy("authorizationpolicies", "deny-productpage", {
      action: "DENY",
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns()}/sa/productpage`] } }] }],
    });
    await settlesOn("productpage", "403");
    await deletePolicy("authorizationpolicies", "deny-productpage");
    await settlesOn("productpage", "200");
  });

  it("certificates rotating every few seconds under steady load fail no request", async () => {
    const reviews = await podOf("reviews");
    const proxyLog = podLogPath(ns(), reviews.name, "vireo-proxy");
    const issuedBefore = ((await readFile(proxyLog, "utf8")).match(/certificate issued/g) ?? [])
      .length;
    const from = await logLength("productpage");
    await new Promise((r) => setTimeout(r, 25_000));
    const seen = await codes("productpage", from);
    const issued =
      ((await readFile(proxyLog, "utf8")).match(/certificate issued/g) ?? []).length - issuedBefore;
    assert.ok(seen.length > 100, `only ${seen.length} requests in 25 s`);
    const failed = seen.filter((c) => c !== "200");
    assert.deepEqual(failed, [], `${failed.length} of ${seen.length} requests failed`);
    assert.ok(issued >= 5, `the server proxy got only ${issued} new certificates in 25 s`);
    process.stdout.write(
      `      ${seen.length} requests over mTLS in 25 s, all 200; the server proxy rotated its certificate ${issued} times\n`,
    );
  });

  it("renews an issuer close to its expiry under steady load, failing no request", async () => {
    const { core } = cluster();
    const secret = await core.readNamespacedSecret({ namespace: root(), name: CA_SECRET });
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
    );
    const rootCert = data["root-cert.pem"] ?? "";
    const rootKey = data["root-key.pem"] ?? "";
    assert.ok(rootCert !== "" && rootKey !== "", "the generated CA keeps its root key");
    // An issuer at the end of its life, as a year-old install's (scaled down): past two thirds of
    // it, 150 s left. Leaves are clamped to it, and refused in its last minute.
    const now = Date.now();
    const dying = createIntermediate({ certPem: rootCert, keyPem: rootKey }, "dying issuer", "t", {
      notBefore: new Date(now - 350_000),
      notAfter: new Date(now + 150_000),
    });
    const reviews = await podOf("reviews");
    const proxyLog = podLogPath(ns(), reviews.name, "vireo-proxy");
    const issued = async (): Promise<number> =>
      ((await readFile(proxyLog, "utf8")).match(/certificate issued/g) ?? []).length;
    const from = await logLength("productpage");
    await core.patchNamespacedSecret(
      {
        namespace: root(),
        name: CA_SECRET,
        body: {
          data: {
            "ca-cert.pem": Buffer.from(dying.certPem).toString("base64"),
            "ca-key.pem": Buffer.from(dying.keyPem).toString("base64"),
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Picked up and renewed at the controller's next refresh (every 30 s).
    const renewed = await eventually(
      "the controller to renew the dying issuer in the Secret",
      async () => {
        const s = await core.readNamespacedSecret({ namespace: root(), name: CA_SECRET });
        const pem = Buffer.from(s.data?.["ca-cert.pem"] ?? "", "base64").toString();
        return pem !== dying.certPem && pem !== data["ca-cert.pem"] ? pem : undefined;
      },
      60_000,
      1000,
    );
    const renewedAt = Date.now();
    const life = validityOf(renewed);
    assert.ok(life.notAfter - Date.now() > 300 * 24 * 3600 * 1000, "a new issuer of a year");
    assert.equal(new X509Certificate(renewed).checkIssued(new X509Certificate(rootCert)), true);
    // The server proxy's certificates go on being issued, now under the new issuer.
    const before = await issued();
    await eventually("two more certificates for the server proxy", async () =>
      (await issued()) >= before + 2 ? true : undefined,
    );
    const seen = await codes("productpage", from);
    const failed = seen.filter((c) => c !== "200");
    assert.ok(seen.length > 100, `only ${seen.length} requests`);
    assert.deepEqual(failed, [], `${failed.length} of ${seen.length} requests failed`);
    process.stdout.write(
      `      issuer renewed ${Math.round((renewedAt - now) / 1000)} s after the dying one was written; ${seen.length} requests over mTLS, all 200\n`,
    );
  });
});
