import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { CoreV1Api } from "@kubernetes/client-node";
import { uniqueRoots } from "../../../src/pki/authority.js";
import type { CaSecretData } from "../../../src/pki/ca-material.js";
import { generateCa, materialFromSecret } from "../../../src/pki/ca-material.js";
import {
  caStatus,
  planDropOldRoots,
  planRotateRoot,
  runCaCommand,
  trustDomainOf,
} from "../../../src/cli/ca.js";
import type { LoopbackApiServer } from "../kube/loopback-apiserver.js";
import { json, startLoopbackApiServer } from "../kube/loopback-apiserver.js";
import { recordingLog } from "../kube/recording-log.js";

const T0 = Date.UTC(2026, 0, 1);
const SECRET_PATH = "/api/v1/namespaces/vireo-system/secrets/vireo-ca";

const encode = (d: CaSecretData): Record<string, string> =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
const decode = (d: Record<string, string>): CaSecretData =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));

async function body(
  req: IncomingMessage,
): Promise<{ metadata: { resourceVersion?: string }; data: Record<string, string> }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as {
    metadata: { resourceVersion?: string };
    data: Record<string, string>;
  };
}

describe("cli: vireo ca", function () {
  this.timeout(60_000);
  let ca: { data: CaSecretData };
  before(() => {
    ca = generateCa("shop.example", T0);
  });

  it("rotate-root plans a new root for the same trust domain, keeping the old one trusted", () => {
    const plan = planRotateRoot(ca.data, T0 + 1000);
    const next = plan.data ?? {};
    assert.equal(trustDomainOf(next["root-cert.pem"] ?? ""), "shop.example");
    assert.notEqual(next["root-cert.pem"], ca.data["root-cert.pem"]);
    assert.deepEqual(
      uniqueRoots([next["trusted-roots.pem"] ?? ""]),
      uniqueRoots([ca.data["root-cert.pem"] ?? ""]),
    );
    const material = materialFromSecret(next, "shop.example", T0 + 1000);
    assert.equal(material.roots.length, 2, "the trust bundle is new + old");
    assert.match(
      plan.lines[0] ?? "",
      /^generate a new root for trust domain shop\.example: vireo root CA/,
    );
    assert.match(plan.lines[2] ?? "", /keep trusting 1 previous root/);
    assert.match(plan.lines.at(-1) ?? "", /vireo ca drop-old-roots/);
  });

  it("drop-old-roots removes trusted-roots.pem, and says when there is nothing to drop", () => {
    const rotated = planRotateRoot(ca.data, T0).data ?? {};
    const drop = planDropOldRoots(rotated);
    assert.equal(drop.data?.["trusted-roots.pem"], undefined);
    assert.equal(drop.data?.["root-cert.pem"], rotated["root-cert.pem"]);
    assert.deepEqual(planDropOldRoots(ca.data), {
      data: undefined,
      lines: ["no previous roots in trusted-roots.pem: nothing to do"],
    });
  });

  it("status names the roots, the issuer, when it is renewed and whether a rotation is under way", () => {
    const lines = caStatus(ca.data, T0);
    assert.match(lines[0] ?? "", /^active root: {3}vireo root CA \(sha256 .*, expires 2035-12-30T/);
    assert.ok(lines.includes("root key:      present"));
    assert.ok(lines.some((l) => /^issuer: {8}vireo issuing CA .*expires 2027-01-01/.test(l)));
    assert.ok(lines.some((l) => /^renewal: {7}at 2026-09-01T/.test(l)));
    assert.equal(lines.at(-1), "rotation:      none in progress");
  });

  describe("against a loopback API server", () => {
    let server: LoopbackApiServer | undefined;
    let stored: { data: Record<string, string>; rv: number };
    const puts: (string | undefined)[] = [];
    beforeEach(async () => {
      stored = { data: encode(ca.data), rv: 5 };
      puts.length = 0;
      server = await startLoopbackApiServer((req, res) => {
        if (req.url !== SECRET_PATH) {
          json(res, 404, { kind: "Status", code: 404 });
          return;
        }
        if (req.method === "GET") {
          json(res, 200, {
            metadata: { name: "vireo-ca", resourceVersion: String(stored.rv) },
            data: stored.data,
          });
          return;
        }
        void body(req).then((b) => {
          puts.push(b.metadata.resourceVersion);
          stored = { data: b.data, rv: stored.rv + 1 };
          json(res, 200, b);
        });
      });
    });
    afterEach(async () => {
      await server?.close();
    });
    const serverKc = () => {
      if (server === undefined) throw new Error("no loopback API server");
      return server.kc;
    };
    const deps = (dryRun: boolean) => ({
      core: serverKc().makeApiClient(CoreV1Api),
      namespace: "vireo-system",
      now: T0 + 1000,
      dryRun,
      log: recordingLog(),
    });

    it("--dry-run says what rotate-root would write and writes nothing", async () => {
      const out = await runCaCommand("rotate-root", deps(true));
      assert.equal(out[0], "dry run: nothing written; would:");
      assert.match(out[1] ?? "", /^ {2}generate a new root/);
      assert.deepEqual(puts, []);
      assert.equal(stored.rv, 5);
    });

    it("rotate-root then drop-old-roots write the Secret with its resourceVersion", async () => {
      const out = await runCaCommand("rotate-root", deps(false));
      assert.equal(out.at(-1), "Secret vireo-system/vireo-ca written");
      assert.deepEqual(puts, ["5"]);
      const rotated = decode(stored.data);
      assert.deepEqual(
        uniqueRoots([rotated["trusted-roots.pem"] ?? ""]),
        uniqueRoots([ca.data["root-cert.pem"] ?? ""]),
      );
      assert.ok(
        (await runCaCommand("status", deps(false))).some((l) =>
          l.startsWith("rotation:      in progress"),
        ),
      );

      await runCaCommand("drop-old-roots", deps(false));
      assert.deepEqual(puts, ["5", "6"]);
      const dropped = decode(stored.data);
      assert.equal(dropped["trusted-roots.pem"], undefined);
      assert.equal(dropped["root-cert.pem"], rotated["root-cert.pem"]);
    });
  });

  it("names the namespace when the Secret is missing", async () => {
    const server = await startLoopbackApiServer((_req, res) => {
      json(res, 404, { kind: "Status", code: 404 });
    });
    try {
      await assert.rejects(
        runCaCommand("status", {
          core: server.kc.makeApiClient(CoreV1Api),
          namespace: "mesh",
          now: T0,
          dryRun: false,
          log: recordingLog(),
        }),
        /Secret mesh\/vireo-ca not found/,
      );
    } finally {
      await server.close();
    }
  });
});
