// HTTP/2 and gRPC through the proxy with @grpc/grpc-js on both ends: unary and streaming calls,
// grpc-status and trailers passed through, local errors as trailers-only gRPC statuses, gRPC
// retries, and HTTP/2 stream resets.
import assert from "node:assert/strict";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { startProxy } from "./harness.js";
import type { RouteSpec } from "./snapshot-builder.js";
import { buildSnapshot } from "./snapshot-builder.js";

const identity = (b: Buffer): Buffer => b;
const method = (name: string, stream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/test.Echo/${name}`,
  requestStream: stream,
  responseStream: stream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const service = { echo: method("Echo", false), chat: method("Chat", true) };
const EchoClient = grpc.makeGenericClientConstructor(service, "Echo");

interface EchoServer {
  readonly port: number;
  calls: number;
  close(): void;
}

/** Echoes; a request `fail` fails with NOT_FOUND, `flaky` fails with UNAVAILABLE once. */
async function echoServer(): Promise<EchoServer> {
  const server = new grpc.Server();
  const state = { calls: 0 };
  server.addService(service, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      state.calls++;
      const text = call.request.toString();
      if (text === "fail") {
        const trailer = new grpc.Metadata();
        trailer.set("x-reason", "asked");
        cb({
          code: grpc.status.NOT_FOUND,
          details: "failing as asked",
          metadata: trailer,
        });
      } else if (text === "flaky" && state.calls === 1) {
        cb({ code: grpc.status.UNAVAILABLE, details: "try again" });
      } else {
        cb(null, Buffer.from(`echo ${text}`));
      }
    },
    chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      state.calls++;
      call.on("data", (b: Buffer) => call.write(Buffer.from(`echo ${b.toString()}`)));
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
  return Object.assign(state, {
    port,
    close: () => {
      server.forceShutdown();
    },
  });
}

interface Client extends grpc.Client {
  echo(req: Buffer, cb: (err: grpc.ServiceError | null, reply?: Buffer) => void): unknown;
  chat(): grpc.ClientDuplexStream<Buffer, Buffer>;
}

function client(port: number, authority = "echo.demo.svc.cluster.local:50051"): Client {
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.default_authority": authority,
  }) as unknown as Client;
}

function unary(c: Client, text: string): Promise<{ reply?: string; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    c.echo(Buffer.from(text), (error: grpc.ServiceError | null, reply?: Buffer) => {
      resolve(error ? { error } : { reply: reply?.toString() });
    });
  });
}

describe("mesh gRPC and HTTP/2", function () {
  this.timeout(20_000);
  let server: EchoServer;
  const clients: grpc.Client[] = [];
  before(async () => {
    server = await echoServer();
  });
  after(() => {
    server.close();
  });
  afterEach(() => {
    clients.splice(0).forEach((c) => {
      c.close();
    });
    server.calls = 0;
  });

  const proxyTo = (port: number, route: Omit<RouteSpec, "to"> = {}) =>
    startProxy(
      buildSnapshot({
        vhosts: [
          { domains: ["echo.demo.svc.cluster.local:50051"], routes: [{ ...route, to: "echo" }] },
        ],
        clusters: { echo: { endpoints: [port], http2: true } },
      }),
    );
  const connect = (port: number, authority?: string): Client => {
    const c = client(port, authority);
    clients.push(c);
    return c;
  };

  it("carries a unary call and its grpc-status", async () => {
    const p = await proxyTo(server.port);
    try {
      assert.deepEqual(await unary(connect(p.port), "hi"), { reply: "echo hi" });
      const [rec] = await p.recorded(1);
      assert.equal(rec?.protocol, "grpc");
      assert.equal(rec.status, 200);
      assert.equal(rec.grpcStatus, 0);
      assert.equal(rec.path, "/test.Echo/Echo");
    } finally {
      await p.proxy.close();
    }
  });

  it("passes error statuses and trailers through", async () => {
    const p = await proxyTo(server.port);
    try {
      const { error } = await unary(connect(p.port), "fail");
      assert.equal(error?.code, grpc.status.NOT_FOUND);
      assert.equal(error.details, "failing as asked");
      assert.deepEqual(error.metadata.get("x-reason"), ["asked"]);
      assert.equal((await p.recorded(1))[0]?.grpcStatus, 5);
    } finally {
      await p.proxy.close();
    }
  });

  it("streams both ways", async () => {
    const p = await proxyTo(server.port);
    try {
      const call = connect(p.port).chat();
      const got: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (b: Buffer) => got.push(b.toString()));
        call.on("end", resolve);
        call.on("error", reject);
      });
      for (const m of ["a", "b", "c"]) call.write(Buffer.from(m));
      call.end();
      await done;
      assert.deepEqual(got, ["echo a", "echo b", "echo c"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers locally in gRPC form: no route UNIMPLEMENTED, no upstream UNAVAILABLE", async () => {
    const p = await proxyTo(1);
    try {
      const nr = await unary(connect(p.port, "other.demo.svc.cluster.local:50051"), "x");
      assert.equal(nr.error?.code, grpc.status.UNIMPLEMENTED);
      const uf = await unary(connect(p.port), "x");
      assert.equal(uf.error?.code, grpc.status.UNAVAILABLE);
      assert.match(uf.error.details, /connection failure/);
      const records = await p.recorded(2);
      assert.deepEqual(
        records.map((r) => [r.status, r.grpcStatus, r.flags]),
        [
          [200, 12, ["NR"]],
          [200, 14, ["UF"]],
        ],
      );
    } finally {
      await p.proxy.close();
    }
  });

  it("aborts with the fault's gRPC status", async () => {
    const p = await proxyTo(server.port, { fault: { abort: { grpcStatus: 8, fraction: 1 } } });
    try {
      const { error } = await unary(connect(p.port), "x");
      assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(server.calls, 0);
    } finally {
      await p.proxy.close();
    }
  });

  it("retries on grpc-status unavailable", async () => {
    const p = await proxyTo(server.port, { retry: { retryOn: ["unavailable"], numRetries: 1 } });
    try {
      assert.deepEqual(await unary(connect(p.port), "flaky"), { reply: "echo flaky" });
      assert.equal(server.calls, 2);
    } finally {
      await p.proxy.close();
    }
  });

  it("goes through the outbound and the inbound listener to the app", async () => {
    const snap = buildSnapshot({
      vhosts: [{ domains: ["echo.demo.svc.cluster.local:50051"], routes: [{ to: "echo" }] }],
      clusters: { echo: { endpoints: [0], http2: true } },
    });
    const p = await startProxy(snap);
    try {
      const inbound = await p.proxy.listenInbound("127.0.0.1", 0, server.port);
      p.set(
        buildSnapshot({
          vhosts: [{ domains: ["echo.demo.svc.cluster.local:50051"], routes: [{ to: "echo" }] }],
          clusters: { echo: { endpoints: [inbound.port], http2: true } },
        }),
      );
      assert.deepEqual(await unary(connect(p.port), "twice"), { reply: "echo twice" });
      const records = await p.recorded(2);
      assert.deepEqual(records.map((r) => [r.direction, r.grpcStatus]).sort(), [
        ["inbound", 0],
        ["outbound", 0],
      ]);
    } finally {
      await p.proxy.close();
    }
  });

  describe("HTTP/2 stream resets", () => {
    let h2: http2.Http2Server;
    let port: number;
    let seen = 0;
    before(async () => {
      h2 = http2.createServer();
      h2.on("stream", (stream, headers) => {
        seen++;
        stream.on("error", () => undefined);
        if (headers[":path"] === "/refuse" && seen === 1)
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        else if (headers[":path"] === "/reset")
          stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        else {
          stream.respond({ ":status": 200 });
          stream.end("ok");
        }
      });
      await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
      port = (h2.address() as { port: number }).port;
    });
    after(() => h2.close());
    beforeEach(() => (seen = 0));

    async function get(proxyPort: number, path: string): Promise<number> {
      const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
      try {
        return await new Promise<number>((resolve, reject) => {
          const s = session.request({
            ":path": path,
            ":authority": "echo.demo.svc.cluster.local:50051",
          });
          s.on("response", (h) => {
            resolve(Number(h[":status"]));
          });
          s.on("error", reject);
          s.resume();
          s.end();
        });
      } finally {
        session.close();
      }
    }

    it("answers 503 UR when the upstream resets the stream", async () => {
      const p = await proxyTo(port);
      try {
        assert.equal(await get(p.port, "/reset"), 503);
        assert.deepEqual((await p.recorded(1))[0]?.flags, ["UR"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("retries a refused stream", async () => {
      const p = await proxyTo(port, { retry: { retryOn: ["refused-stream"], numRetries: 1 } });
      try {
        assert.equal(await get(p.port, "/refuse"), 200);
        assert.equal(seen, 2);
      } finally {
        await p.proxy.close();
      }
    });
  });
});
