// The control plane's port on the real API server: certificates only for the service account a
// real token proves (TokenReview, audience "vireo"), and no configuration or config dump for
// anonymous callers, callers of another namespace, or certificates from a foreign CA; a stream
// that never names its node is refused, and CSDS shows a caller its own namespace's clients only.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { AuthenticationV1Api } from "@kubernetes/client-node";
import { X509Certificate } from "node:crypto";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { CertificateAuthority } from "../../src/pki/authority.js";
import { generateCa } from "../../src/pki/ca-material.js";
import { CallerAuthenticator } from "../../src/pki/caller.js";
import type {
  CreateCertificateRequest,
  CreateCertificateResponse,
} from "../../src/pki/certificate-service.js";
import {
  certificateServiceDefinition,
  certificateServiceHandlers,
} from "../../src/pki/certificate-service.js";
import { KubeTokenReviewer } from "../../src/pki/token-review.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { serverCredentials, StaticCertificateProvider } from "../../src/xds/server/tls.js";
import { XdsServer } from "../../src/xds/server/xds-server.js";
import { TYPE } from "../../src/xds/snapshot.js";
import { makeCsr } from "../unit/pki/csr.js";
import { cluster, useNamespace } from "./harness.js";

const log = createLogger({ component: "xds-auth-it", level: "error" });
const TD = "cluster.local";

async function token(namespace: string, sa: string, audience = "vireo"): Promise<string> {
  const { core } = cluster();
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } });
  } catch {
    // exists already
  }
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa,
    namespace,
    body: { spec: { audiences: [audience], expirationSeconds: 600 } },
  });
  return tr.status?.token ?? "";
}

function bearer(t: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${t}`);
  return md;
}

interface AdsOutcome {
  readonly code: grpc.status | "response";
  readonly details: string;
}

describe("control plane port authentication (TokenReview on the local cluster)", function () {
  this.timeout(120_000);
  const ns = useNamespace("xds-auth");
  const otherNs = useNamespace("xds-auth-other");
  let server: XdsServer;
  let port: number;
  let ca: CertificateAuthority;
  let trustBundle: string;
  let foreign: CertificateAuthority;

  type CaClient = grpc.Client & {
    CreateCertificate(
      req: Partial<CreateCertificateRequest>,
      md: grpc.Metadata,
      cb: (err: grpc.ServiceError | null, res?: CreateCertificateResponse) => void,
    ): void;
  };
  const CaClientCtor = grpc.makeGenericClientConstructor(
    certificateServiceDefinition(),
    "CertificateService",
  ) as unknown as new (addr: string, creds: grpc.ChannelCredentials) => CaClient;

  const creds = (client?: { keyPem: string; certChain: string }): grpc.ChannelCredentials =>
    grpc.credentials.createSsl(
      Buffer.from(trustBundle),
      client === undefined ? null : Buffer.from(client.keyPem),
      client === undefined ? null : Buffer.from(client.certChain),
      { checkServerIdentity: () => undefined },
    );

  const createCert = (
    md: grpc.Metadata,
    req: Partial<CreateCertificateRequest>,
  ): Promise<CreateCertificateResponse | grpc.ServiceError> => {
    const c = new CaClientCtor(`127.0.0.1:${port}`, creds());
    return new Promise((resolve) => {
      c.CreateCertificate(req, md, (err, res) => {
        c.close();
        resolve(err ?? res ?? (new Error("no response") as grpc.ServiceError));
      });
    });
  };

  /**
   * Opens ADS, sends one request for clusters and reports the first response or the status;
   * `nodeNamespace` undefined sends no node at all.
   */
  const ads = (
    channel: grpc.ChannelCredentials,
    md: grpc.Metadata,
    nodeNamespace: string | undefined,
  ): Promise<AdsOutcome> => {
    const svc = loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const client = new svc(`127.0.0.1:${port}`, channel);
    return new Promise((resolve) => {
      const call = client.StreamAggregatedResources(md);
      const done = (o: AdsOutcome): void => {
        call.cancel();
        client.close();
        resolve(o);
      };
      call.on("data", () => {
        done({ code: "response", details: "" });
      });
      call.on("error", (e: grpc.ServiceError) => {
        done({ code: e.code, details: e.details });
      });
      call.write({
        ...(nodeNamespace === undefined
          ? {}
          : {
              node: {
                id: "sidecar~10.0.0.1~p.x~x.svc.cluster.local",
                metadata: { fields: { NAMESPACE: { stringValue: nodeNamespace } } },
              },
            }),
        type_url: TYPE.cluster,
        resource_names: [],
      });
    });
  };

  /** A proxy that stays connected (from `namespace`, with a token of it) until closed. */
  const connectProxy = async (namespace: string, nodeId: string): Promise<() => void> => {
    const svc = loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const client = new svc(`127.0.0.1:${port}`, creds());
    const call = client.StreamAggregatedResources(bearer(await token(namespace, "cart")));
    const close = (): void => {
      call.cancel();
      client.close();
    };
    await new Promise<void>((resolve, reject) => {
      call.once("data", () => {
        resolve();
      });
      call.on("error", (e: grpc.ServiceError) => {
        if (e.code !== grpc.status.CANCELLED) reject(e);
      });
      call.write({
        node: { id: nodeId, metadata: { fields: { NAMESPACE: { stringValue: namespace } } } },
        type_url: TYPE.cluster,
        resource_names: [],
      });
    });
    return close;
  };

  /** The node ids a CSDS FetchClientStatus with `md` reports. */
  const csdsNodes = async (md: grpc.Metadata): Promise<string[]> => {
    const svc = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
    const client = new svc(`127.0.0.1:${port}`, creds());
    try {
      return await new Promise((resolve, reject) => {
        client.FetchClientStatus({}, md, (err, res) => {
          if (err !== null) reject(err);
          else resolve((res?.config ?? []).map((c) => c.node?.id ?? "").sort());
        });
      });
    } finally {
      client.close();
    }
  };

  before(async () => {
    const { kc } = cluster();
    ca = new CertificateAuthority(generateCa(TD, Date.now()).material, { clock: systemClock });
    foreign = new CertificateAuthority(generateCa(TD, Date.now()).material, { clock: systemClock });
    trustBundle = ca.trustBundle();
    const authenticator = new CallerAuthenticator(
      new KubeTokenReviewer(kc.makeApiClient(AuthenticationV1Api)),
      TD,
    );
    // The admin identity: a service account "vireo" of the other namespace stands for the
    // controller's own.
    server = new XdsServer({
      log,
      clock: systemClock,
      auth: authenticator,
      admin: { namespace: otherNs(), serviceAccount: "vireo" },
    });
    server.addService(
      certificateServiceDefinition(),
      certificateServiceHandlers({ authority: ca, authenticator, trustDomain: TD, log }),
    );
    const sc = ca.serverCertificate([{ kind: "ip", value: "127.0.0.1" }], 3600);
    const provider = new StaticCertificateProvider({
      trustBundle,
      certChain: sc.certChainPem,
      keyPem: sc.keyPem,
    });
    port = await server.listen(0, "127.0.0.1", serverCredentials(provider));
    const { buildSnapshot } = await import("../../src/xds/snapshot.js");
    const { emptyResourceSet } = await import("../../src/xds/snapshot.js");
    server.setSnapshot(buildSnapshot(1, emptyResourceSet(), loadXdsProtos().codecs));
  });

  after(async () => {
    await server.close();
  });

  it("issues a certificate for the token's own service account", async () => {
    const csr = makeCsr();
    const res = await createCert(bearer(await token(ns(), "cart")), {
      csr: csr.csrPem,
      validity_seconds: "30",
    });
    assert.ok(!(res instanceof Error), `refused: ${res instanceof Error ? res.message : ""}`);
    const leaf = new X509Certificate(res.cert_chain[0] ?? "");
    assert.equal(leaf.subjectAltName, `URI:spiffe://${TD}/ns/${ns()}/sa/cart`);
    assert.equal(res.trust_bundle, trustBundle);
    const life = Date.parse(leaf.validTo) - Date.now();
    assert.ok(life > 0 && life <= 31_000, `lifetime ${String(life)} ms`);
  });

  it("refuses a CSR asking for another service account's identity", async () => {
    const csr = makeCsr([`spiffe://${TD}/ns/${ns()}/sa/admin`]);
    const res = await createCert(bearer(await token(ns(), "cart")), { csr: csr.csrPem });
    assert.ok(res instanceof Error);
    assert.equal(res.code, grpc.status.PERMISSION_DENIED);
    assert.match(res.details, /sa\/admin/);
  });

  it("refuses no token, a forged token and a token for another audience", async () => {
    const csr = makeCsr().csrPem;
    const none = await createCert(new grpc.Metadata(), { csr });
    const forged = await createCert(bearer("not-a-token"), { csr });
    const otherAudience = await createCert(bearer(await token(ns(), "cart", "api")), { csr });
    for (const r of [none, forged, otherAudience]) {
      assert.ok(r instanceof Error);
      assert.equal(r.code, grpc.status.UNAUTHENTICATED, r.details);
    }
  });

  it("refuses an anonymous ADS stream with UNAUTHENTICATED and serves a token's", async () => {
    const anonymous = await ads(creds(), new grpc.Metadata(), ns());
    assert.equal(anonymous.code, grpc.status.UNAUTHENTICATED);
    const ok = await ads(creds(), bearer(await token(ns(), "cart")), ns());
    assert.equal(ok.code, "response");
  });

  it("refuses a token whose namespace is not the node's", async () => {
    const r = await ads(creds(), bearer(await token(otherNs(), "cart")), ns());
    assert.equal(r.code, grpc.status.PERMISSION_DENIED);
    assert.match(r.details, /claims namespace/);
  });

  it("refuses a token-authenticated stream that never names a node", async () => {
    const r = await ads(creds(), bearer(await token(ns(), "cart")), undefined);
    assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
    assert.match(r.details, /must name a node with NAMESPACE metadata/);
  });

  it("shows a CSDS caller its own namespace's clients only, the admin every client", async () => {
    const closeMine = await connectProxy(ns(), "proxy-mine");
    const closeOther = await connectProxy(otherNs(), "proxy-other");
    try {
      assert.deepEqual(await csdsNodes(bearer(await token(otherNs(), "cart"))), ["proxy-other"]);
      assert.deepEqual(await csdsNodes(bearer(await token(ns(), "reader"))), ["proxy-mine"]);
      assert.deepEqual(await csdsNodes(bearer(await token(otherNs(), "vireo"))), [
        "proxy-mine",
        "proxy-other",
      ]);
    } finally {
      closeMine();
      closeOther();
    }
  });

  it("serves a client certificate from our CA and refuses one from a foreign CA", async () => {
    const id = { trustDomain: TD, namespace: ns(), serviceAccount: "cart" };
    const mine = makeCsr();
    const ours = ca.issue(mine.csrPem, id);
    const ok = await ads(
      creds({ keyPem: mine.keyPem, certChain: ours.certChain.join("") }),
      new grpc.Metadata(),
      ns(),
    );
    assert.equal(ok.code, "response");
    const theirs = makeCsr();
    const f = foreign.issue(theirs.csrPem, id);
    const refused = await ads(
      creds({ keyPem: theirs.keyPem, certChain: f.certChain.join("") }),
      new grpc.Metadata(),
      ns(),
    );
    assert.notEqual(refused.code, "response");
  });

  it("leaves no client behind when a caller leaves during its token review", async () => {
    const svc = loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService;
    const md = bearer(await token(ns(), "cart"));
    for (let i = 0; i < 5; i++) {
      const client = new svc(`127.0.0.1:${String(port)}`, creds());
      const call = client.StreamAggregatedResources(md);
      call.on("error", () => undefined);
      call.write({ type_url: TYPE.cluster, resource_names: [] });
      await new Promise((r) => setTimeout(r, 5));
      call.cancel();
      client.close();
    }
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(server.clients(), []);
  });

  it("gives an anonymous caller no config dump (CSDS)", async () => {
    const svc = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
    const client = new svc(`127.0.0.1:${port}`, creds());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.FetchClientStatus({}, (e) => {
        resolve(e);
      });
    });
    client.close();
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
  });
});
