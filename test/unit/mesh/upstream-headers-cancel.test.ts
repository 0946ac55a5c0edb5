// The request path's small parts: the one-pass header copy between hops, and cancellation
// without AbortController.
import assert from "node:assert/strict";
import { Cancel } from "../../../mesh/upstream/cancel.js";
import { requestHeaders, responseHeaders } from "../../../mesh/upstream/headers.js";

describe("mesh upstream: headers between hops", () => {
  it("keeps end-to-end request headers, drops hop-by-hop, pseudo and Connection-listed ones", () => {
    const out = requestHeaders(
      {
        host: "reviews",
        ":authority": "reviews",
        connection: "keep-alive, x-trace-hop",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "x-trace-hop": "1",
        te: "trailers",
        accept: "*/*",
        "set-cookie": ["a=1", "b=2"],
      },
      { "x-vireo-source-workload": "frontend" },
    );
    assert.deepEqual(out, {
      te: "trailers",
      accept: "*/*",
      "set-cookie": ["a=1", "b=2"],
      "x-vireo-source-workload": "frontend",
    });
  });

  it("keeps te only as trailers in requests and never in responses", () => {
    assert.deepEqual(requestHeaders({ te: "gzip", accept: "*/*" }), { accept: "*/*" });
    assert.deepEqual(responseHeaders({ te: "trailers", "content-length": "2" }), {
      "content-length": "2",
    });
  });

  it("lets the proxy's own headers win over the app's of the same name", () => {
    const out = requestHeaders(
      { "x-vireo-source-workload": "forged" },
      {
        "x-vireo-source-workload": "frontend",
      },
    );
    assert.deepEqual(out, { "x-vireo-source-workload": "frontend" });
  });
});

describe("mesh upstream: cancellation", () => {
  it("calls each listener once, in order, and none after it was removed", () => {
    const c = new Cancel();
    const calls: string[] = [];
    const a = (): void => {
      calls.push("a");
    };
    const b = (): void => {
      calls.push("b");
    };
    const d = (): void => {
      calls.push("d");
    };
    c.onAbort(a);
    c.onAbort(b);
    c.onAbort(d);
    c.off(a);
    assert.equal(c.aborted, false);
    c.abort();
    c.abort();
    assert.equal(c.aborted, true);
    assert.deepEqual(calls, ["b", "d"]);
  });

  it("calls a listener added after the abort at once", () => {
    const c = new Cancel();
    c.abort();
    let called = 0;
    c.onAbort(() => {
      called++;
    });
    assert.equal(called, 1);
  });

  it("gives an AbortSignal that follows it, already aborted if it is", () => {
    const c = new Cancel();
    const s = c.signal();
    assert.equal(s.aborted, false);
    c.abort();
    assert.equal(s.aborted, true);
    assert.equal(c.signal().aborted, true);
  });
});
