// The Prometheus client: result parsing against a real Prometheus (vectors, scalars, empty
// vectors, NaN and infinities, several series, the wrong result type, a query that does not
// parse), and its transport against loopback servers (form encoding, credentials, retries with
// back-off, what is not retried, timeouts, TLS).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import forge from "node-forge";
import type { PrometheusOptions } from "../../../src/analysis/prometheus.js";
import { PrometheusClient } from "../../../src/analysis/prometheus.js";
import { freePort, startPrometheus } from "../../support/prometheus.js";
import type { PrometheusServer } from "../../support/prometheus.js";

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

type Reply = readonly [status: number, body: string, delayMs?: number];

const VALUE: Reply = [
  200,
  JSON.stringify({
    status: "success",
    data: { resultType: "vector", result: [{ metric: {}, value: [1, "42"] }] },
  }),
];

/** A loopback upstream answering with `replies` in turn (the last one repeats), recording requests. */
async function upstream(
  replies: readonly Reply[],
  tls?: { key: string; cert: string },
): Promise<{ url: string; requests: Recorded[]; close: () => Promise<void> }> {
  const requests: Recorded[] = [];
  const handler: http.RequestListener = (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const at = Date.now();
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        at,
      });
      const [status, text, delayMs = 0] =
        replies[Math.min(requests.length, replies.length) - 1] ?? VALUE;
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(status).end(text);
      }, delayMs);
    });
  };
  const server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => {
          r();
        });
        server.closeAllConnections();
      }),
  };
}

/** A self-signed certificate for 127.0.0.1. */
function selfSigned(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: "spki", format: "pem" }).toString(),
  );
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  const subject = [{ name: "commonName", value: "127.0.0.1" }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true },
    { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
  ]);
  const key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  cert.sign(forge.pki.privateKeyFromPem(key), forge.md.sha256.create());
  return { key, cert: forge.pki.certificateToPem(cert) };
}

const client = (address: string, over: Partial<PrometheusOptions> = {}) =>
  new PrometheusClient({ address, retries: 0, backoffMs: 10, ...over });

describe("PrometheusClient", function () {
  this.timeout(30_000);

  describe("results, from a real Prometheus", () => {
    let prom: PrometheusServer;
    before(async () => {
      prom = await startPrometheus();
    });
    after(async () => {
      await prom.stop();
    });

    const cases: { query: string; want: unknown }[] = [
      { query: "vector(42)", want: { kind: "value", value: 42 } },
      { query: "2 * 3.5", want: { kind: "value", value: 7 } },
      { query: "vector(1) unless vector(1)", want: { kind: "noData", reason: "no series" } },
      { query: "vector(0) / 0", want: { kind: "noData", reason: "NaN" } },
      { query: "0 / 0", want: { kind: "noData", reason: "NaN" } },
      { query: "1 / 0", want: { kind: "noData", reason: "+Inf" } },
      { query: "vector(-1) / 0", want: { kind: "noData", reason: "-Inf" } },
      {
        query:
          'label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")',
        want: {
          kind: "error",
          code: "multipleSeries",
          message: "query returned 2 series, expected 1",
        },
      },
      {
        query: "vector(1)[1m:10s]",
        want: {
          kind: "error",
          code: "badResponse",
          message: "query returned a matrix, expected a vector or a scalar",
        },
      },
      {
        query: "sum(",
        want: {
          kind: "error",
          code: "badQuery",
          message: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
        },
      },
    ];
    for (const c of cases) {
      it(`${c.query} → ${JSON.stringify(c.want)}`, async () => {
        const got = await client(prom.url).query(c.query, Date.now());
        const want = c.want as { message?: string };
        assert.deepEqual(
          got,
          want.message === undefined
            ? want
            : { ...want, message: `Prometheus ${prom.url}: ${want.message}` },
        );
      });
    }

    it("evaluates at the time asked for", async () => {
      const at = Date.now() - 3_600_000 + 123;
      assert.deepEqual(await client(prom.url).query("time()", at), {
        kind: "value",
        value: at / 1000,
      });
    });
  });

  describe("transport, against loopback servers", () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0)) await close();
    });
    const serve = async (replies: readonly Reply[], tls?: { key: string; cert: string }) => {
      const u = await upstream(replies, tls);
      closers.push(u.close);
      return u;
    };

    it("posts the query form-encoded, with the time and its timeout, under the address's path", async () => {
      const u = await serve([VALUE]);
      const got = await client(`${u.url}/prom/`, { timeoutMs: 2000 }).query(
        'up{job="a b"}',
        1_700_000_000_123,
      );
      assert.deepEqual(got, { kind: "value", value: 42 });
      const [req] = u.requests;
      assert.equal(req?.method, "POST");
      assert.equal(req?.url, "/prom/api/v1/query");
      assert.equal(req?.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(req?.headers.authorization, undefined);
      assert.deepEqual(Object.fromEntries(new URLSearchParams(req?.body)), {
        query: 'up{job="a b"}',
        time: "1700000000.123",
        timeout: "2000ms",
      });
    });

    it("sends a bearer token or basic credentials", async () => {
      const u = await serve([VALUE]);
      await client(u.url, { auth: { kind: "bearer", token: "t0ken" } }).query("up", 0);
      await client(u.url, { auth: { kind: "basic", username: "u", password: "p:w" } }).query(
        "up",
        0,
      );
      assert.deepEqual(
        u.requests.map((r) => r.headers.authorization),
        ["Bearer t0ken", `Basic ${Buffer.from("u:p:w").toString("base64")}`],
      );
    });

    it("retries 5xx with doubling back-off, then answers", async () => {
      const u = await serve([[503, "busy"], [502, "<html>bad gateway</html>"], VALUE]);
      const got = await client(u.url, { retries: 2, backoffMs: 100 }).query("up", 0);
      assert.deepEqual(got, { kind: "value", value: 42 });
      const [a, b, c] = u.requests.map((r) => r.at);
      assert.ok(a !== undefined && b !== undefined && c !== undefined);
      assert.ok(b - a >= 95 && c - b >= 195, `gaps ${b - a} and ${c - b} ms`);
    });

    it("gives up after the retries, saying how often it tried", async () => {
      const error = JSON.stringify({
        status: "error",
        errorType: "internal",
        error: "storage broke",
      });
      const u = await serve([[500, error]]);
      const got = await client(u.url, { retries: 2 }).query("up", 0);
      assert.deepEqual(got, {
        kind: "error",
        code: "http",
        message: `Prometheus ${u.url}: 500: storage broke (after 3 attempts)`,
      });
      assert.equal(u.requests.length, 3);
    });

    it("does not retry a bad query, a refusal of credentials or a body that is no answer", async () => {
      const badData = JSON.stringify({
        status: "error",
        errorType: "bad_data",
        error: "parse error",
      });
      const cases: [Reply, string, string][] = [
        [[400, badData], "badQuery", "parse error"],
        [
          [422, JSON.stringify({ status: "error", errorType: "execution", error: "many-to-many" })],
          "badQuery",
          "many-to-many",
        ],
        [[401, "no"], "unauthorized", "401: no"],
        [[403, "no"], "unauthorized", "403: no"],
        [[404, "404 page not found"], "http", "404: 404 page not found"],
        [[200, "<html>login</html>"], "badResponse", "not a Prometheus answer: <html>login</html>"],
        [
          [
            200,
            JSON.stringify({
              status: "success",
              data: { resultType: "vector", result: [{ value: [1, "x"] }] },
            }),
          ],
          "badResponse",
          'not a sample: [1,"x"]',
        ],
      ];
      for (const [reply, code, message] of cases) {
        const u = await serve([reply]);
        const got = await client(u.url, { retries: 3 }).query("up", 0);
        assert.deepEqual(got, { kind: "error", code, message: `Prometheus ${u.url}: ${message}` });
        assert.equal(u.requests.length, 1, `${reply[0]} was retried`);
      }
    });

    it("retries a refused connection and reports the server unreachable", async () => {
      const port = await freePort();
      const got = await client(`http://127.0.0.1:${port}`, { retries: 1 }).query("up", 0);
      assert.equal(got.kind, "error");
      assert.equal(got.kind === "error" && got.code, "unreachable");
      assert.match(got.kind === "error" ? got.message : "", /ECONNREFUSED.*\(after 2 attempts\)$/);
    });

    it("times out each attempt of a server that does not answer", async () => {
      const u = await serve([[200, VALUE[1], 2000]]);
      const started = Date.now();
      const got = await client(u.url, { timeoutMs: 200, retries: 1, backoffMs: 50 }).query("up", 0);
      const elapsed = Date.now() - started;
      assert.deepEqual(got, {
        kind: "error",
        code: "timeout",
        message: `Prometheus ${u.url}: no answer within 200 ms (after 2 attempts)`,
      });
      assert.equal(u.requests.length, 2);
      assert.ok(elapsed >= 400 && elapsed < 1500, `took ${elapsed} ms`);
    });

    it("refuses an unknown certificate unless told to trust it or to skip the check", async () => {
      const tls = selfSigned();
      const u = await serve([VALUE], tls);
      const refused = await client(u.url, { retries: 2 }).query("up", 0);
      assert.equal(refused.kind === "error" && refused.code, "tls");
      assert.match(
        refused.kind === "error" ? refused.message : "",
        /certificate refused: self.signed certificate$/,
      );
      assert.equal(u.requests.length, 0);
      const trusted = await client(u.url, { tls: { ca: tls.cert } }).query("up", 0);
      assert.deepEqual(trusted, { kind: "value", value: 42 });
      const skipped = await client(u.url, { tls: { insecureSkipVerify: true } }).query("up", 0);
      assert.deepEqual(skipped, { kind: "value", value: 42 });
    });
  });
});
