// `vireo ca` against the real API server's Secret vireo-ca: --dry-run writes nothing,
// rotate-root and drop-old-roots write the Secret with its resourceVersion as precondition, and a
// missing Secret is named with its namespace. The requests go through our proxy, which records
// them (it injects no fault here).
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { runCaCommand } from "../../src/cli/ca.js";
import { uniqueRoots } from "../../src/pki/authority.js";
import type { CaSecretData } from "../../src/pki/ca-material.js";
import { CA_SECRET, generateCa } from "../../src/pki/ca-material.js";
import { recordingLog } from "../support/recording-log.js";
import type { ApiFaultProxy } from "./api-fault-proxy.js";
import { startApiFaultProxy } from "./api-fault-proxy.js";
import { cluster, useNamespace } from "./harness.js";

const encode = (d: CaSecretData): Record<string, string> =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
const decode = (d: Record<string, string> | undefined): CaSecretData =>
  Object.fromEntries(
    Object.entries(d ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );

describe("cli: vireo ca against the real API server", function () {
  this.timeout(60_000);
  const ns = useNamespace("cli-ca");
  const now = Date.now();
  let ca: { data: CaSecretData };
  let proxy: ApiFaultProxy | undefined;

  before(() => {
    ca = generateCa("shop.example", now);
  });
  beforeEach(async () => {
    await cluster().core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: CA_SECRET }, type: "Opaque", data: encode(ca.data) },
    });
    proxy = await startApiFaultProxy();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await cluster().core.deleteNamespacedSecret({ name: CA_SECRET, namespace: ns() });
  });

  async function stored(): Promise<{ data: CaSecretData; resourceVersion: string }> {
    const s = await cluster().core.readNamespacedSecret({ name: CA_SECRET, namespace: ns() });
    return { data: decode(s.data), resourceVersion: s.metadata?.resourceVersion ?? "" };
  }

  /** The resourceVersion each PUT of the Secret carried, in order. */
  function puts(p: ApiFaultProxy): (string | undefined)[] {
    return p.requests
      .filter(
        (r) => r.method === "PUT" && r.url === `/api/v1/namespaces/${ns()}/secrets/${CA_SECRET}`,
      )
      .map(
        (r) =>
          (JSON.parse(r.body) as { metadata?: { resourceVersion?: string } }).metadata
            ?.resourceVersion,
      );
  }

  const deps = (p: ApiFaultProxy, dryRun: boolean) => ({
    core: p.kc.makeApiClient(CoreV1Api),
    namespace: ns(),
    now: now + 1000,
    dryRun,
    log: recordingLog(),
  });

  it("--dry-run says what rotate-root would write and writes nothing", async () => {
    const p = proxy ?? assert.fail("no proxy");
    const before = await stored();
    const out = await runCaCommand("rotate-root", deps(p, true));
    assert.equal(out[0], "dry run: nothing written; would:");
    assert.match(out[1] ?? "", /^ {2}generate a new root/);
    assert.deepEqual(puts(p), []);
    assert.equal((await stored()).resourceVersion, before.resourceVersion);
  });

  it("rotate-root then drop-old-roots write the Secret with its resourceVersion", async () => {
    const p = proxy ?? assert.fail("no proxy");
    const v0 = (await stored()).resourceVersion;
    const out = await runCaCommand("rotate-root", deps(p, false));
    assert.equal(out.at(-1), `Secret ${ns()}/vireo-ca written`);
    const rotated = await stored();
    assert.deepEqual(puts(p), [v0]);
    assert.deepEqual(
      uniqueRoots([rotated.data["trusted-roots.pem"] ?? ""]),
      uniqueRoots([ca.data["root-cert.pem"] ?? ""]),
    );
    assert.ok(
      (await runCaCommand("status", deps(p, false))).some((l) =>
        l.startsWith("rotation:      in progress"),
      ),
    );

    await runCaCommand("drop-old-roots", deps(p, false));
    assert.deepEqual(puts(p), [v0, rotated.resourceVersion]);
    const dropped = (await stored()).data;
    assert.equal(dropped["trusted-roots.pem"], undefined);
    assert.equal(dropped["root-cert.pem"], rotated.data["root-cert.pem"]);
  });

  it("names the namespace when the Secret is missing (the real 404)", async () => {
    const p = proxy ?? assert.fail("no proxy");
    await cluster().core.deleteNamespacedSecret({ name: CA_SECRET, namespace: ns() });
    await assert.rejects(
      runCaCommand("status", deps(p, false)),
      new RegExp(`Secret ${ns()}/vireo-ca not found`),
    );
    // Put it back for afterEach, which deletes it.
    await cluster().core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: CA_SECRET }, type: "Opaque", data: encode(ca.data) },
    });
  });
});
