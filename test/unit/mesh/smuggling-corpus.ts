// The malformed-input and request-smuggling corpus: raw HTTP/1.1 requests sent byte for byte on a
// TCP connection, an upstream that records every request a proxy forwards (and the bytes it was
// sent), and the exchange that reports what came back. Each smuggling case hides a second request
// for `/smuggled` behind a body boundary one parser may draw differently from another.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";

const H = "Host: app\r\n";
const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n";

export interface CorpusCase {
  readonly name: string;
  readonly bytes: string;
  /** Half-close after writing: the request as sent is all there will be. */
  readonly endAfterWrite?: boolean;
}

const post = (headers: string, body: string): string =>
  `POST / HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const lines = (n: number, line: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => `${line(i)}\r\n`).join("");
const chunked = (body: string): string => post("Transfer-Encoding: chunked\r\n", body);

export const CORPUS: readonly CorpusCase[] = [
  {
    name: "CL+TE",
    bytes: post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${SMUGGLED}`),
  },
  {
    name: "TE+CL",
    bytes: post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", `0\r\n\r\n${SMUGGLED}`),
  },
  {
    name: "two differing Content-Length",
    bytes: post("Content-Length: 5\r\nContent-Length: 43\r\n", `hello${SMUGGLED}`),
  },
  {
    name: "two equal Content-Length",
    bytes: post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
  },
  { name: "Content-Length list 5, 5", bytes: post("Content-Length: 5, 5\r\n", "hello") },
  { name: "Content-Length +5", bytes: post("Content-Length: +5\r\n", "hello") },
  { name: "Content-Length -1", bytes: post("Content-Length: -1\r\n", "hello") },
  { name: "Content-Length 5x", bytes: post("Content-Length: 5x\r\n", "hello") },
  { name: "Content-Length 0x5", bytes: post("Content-Length: 0x5\r\n", "hello") },
  {
    name: "Content-Length with inner space (5 0)",
    bytes: post("Content-Length: 5 0\r\n", "hello"),
  },
  {
    name: "Content-Length 2^64+5",
    bytes: post("Content-Length: 18446744073709551621\r\n", "hello"),
  },
  {
    name: "TE: chunked, identity",
    bytes: post("Transfer-Encoding: chunked, identity\r\n", `0\r\n\r\n${SMUGGLED}`),
  },
  {
    name: "TE: identity, chunked",
    bytes: post("Transfer-Encoding: identity, chunked\r\n", "0\r\n\r\n"),
  },
  {
    name: "TE: xchunked",
    bytes: post("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n", "hello"),
  },
  {
    name: "TE: chunked twice (two lines)",
    bytes: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
  },
  {
    name: "TE: chunked then identity (two lines)",
    bytes: post(
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
      `0\r\n\r\n${SMUGGLED}`,
    ),
  },
  {
    name: "TE with space before colon",
    bytes: post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"),
  },
  {
    name: "TE: \\vchunked (vertical tab)",
    bytes: post("Transfer-Encoding: \x0bchunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"),
  },
  {
    name: "TE on HTTP/1.0",
    bytes: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  { name: "obs-fold in a header", bytes: `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n` },
  {
    name: "obs-fold in Transfer-Encoding",
    bytes: post("Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"),
  },
  { name: "chunk size not hex (zz)", bytes: chunked(`zz\r\nhello\r\n0\r\n\r\n`) },
  { name: "chunk size negative (-5)", bytes: chunked(`-5\r\nhello\r\n0\r\n\r\n`) },
  { name: "chunk size 0x5", bytes: chunked(`0x5\r\nhello\r\n0\r\n\r\n`) },
  {
    name: "chunk size overlong (2^64+5)",
    bytes: chunked(`10000000000000005\r\nhello\r\n0\r\n\r\n`),
  },
  { name: "chunk size with space (5 5)", bytes: chunked(`5 5\r\nhello\r\n0\r\n\r\n`) },
  { name: "chunk data longer than its size", bytes: chunked(`3\r\nhello\r\n0\r\n\r\n`) },
  { name: "chunk size line with bare LF", bytes: chunked(`5\nhello\r\n0\r\n\r\n`) },
  { name: "missing final chunk, then EOF", bytes: chunked("5\r\nhello\r\n"), endAfterWrite: true },
  {
    name: "Content-Length longer than body, then EOF",
    bytes: post("Content-Length: 10\r\n", "hello"),
    endAfterWrite: true,
  },
  { name: "bare LF line endings", bytes: "GET / HTTP/1.1\nHost: app\n\n" },
  { name: "NUL in a header value", bytes: `GET / HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n` },
  { name: "CR in a header value", bytes: `GET / HTTP/1.1\r\n${H}X-Cr: a\rb\r\n\r\n` },
  { name: "space in a header name", bytes: `GET / HTTP/1.1\r\n${H}X Bad: a\r\n\r\n` },
  { name: "header without a colon", bytes: `GET / HTTP/1.1\r\n${H}Broken header\r\n\r\n` },
  { name: "two Host headers", bytes: `GET / HTTP/1.1\r\n${H}Host: other\r\n\r\n` },
  { name: "no Host on HTTP/1.1", bytes: "GET / HTTP/1.1\r\n\r\n" },
  { name: "request line of 70 KiB", bytes: `GET /${"a".repeat(70 * 1024)} HTTP/1.1\r\n${H}\r\n` },
  {
    name: "one header of 70 KiB",
    bytes: `GET / HTTP/1.1\r\n${H}X-Big: ${"b".repeat(70 * 1024)}\r\n\r\n`,
  },
  {
    name: "headers totalling 70 KiB (70 of 1 KiB)",
    bytes: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 70 }, (_, i) => `X-H${i}: ${"c".repeat(1024)}\r\n`).join("")}\r\n`,
  },
  {
    name: "101 header lines",
    bytes: `GET / HTTP/1.1\r\n${H}${lines(100, (i) => `X-N${i}: n`)}\r\n`,
  },
  {
    name: "2,001 header lines",
    bytes: `GET / HTTP/1.1\r\n${H}${lines(2000, (i) => `X-N${i}: n`)}\r\n`,
  },
  { name: "invalid method (G@T)", bytes: `G@T / HTTP/1.1\r\n${H}\r\n` },
  { name: "version HTTP/1.2", bytes: `GET / HTTP/1.2\r\n${H}\r\n` },
  { name: "version HTTP/2.0 on HTTP/1", bytes: `GET / HTTP/2.0\r\n${H}\r\n` },
  { name: "version garbage (HTTP/x.y)", bytes: `GET / HTTP/x.y\r\n${H}\r\n` },
  {
    name: "absolute-form with another Host",
    bytes: `GET http://app/ HTTP/1.1\r\nHost: other\r\n\r\n`,
  },
  { name: "absolute-form https", bytes: `GET https://app/ HTTP/1.1\r\n${H}\r\n` },
  { name: "fragment in target", bytes: `GET /#frag HTTP/1.1\r\n${H}\r\n` },
  { name: "control character in target", bytes: `GET /a\x01b HTTP/1.1\r\n${H}\r\n` },
];

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Bytes of body the upstream read; -1 if the request was cut off before its end. */
  readonly bodyBytes: number;
}

/** An upstream that answers `ok` to everything and records what it was sent. */
export interface RecordingUpstream {
  readonly port: number;
  readonly requests: SeenRequest[];
  /** Requests node's parser refused at the upstream (the proxy sent something malformed). */
  readonly parseErrors: string[];
  /** Resolves once no request is in progress at the upstream (or after `capMs`). */
  settled(capMs: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: SeenRequest[] = [];
  const parseErrors: string[] = [];
  let active = 0;
  let waiters: (() => void)[] = [];
  const done = (r: SeenRequest): void => {
    requests.push(r);
    if (--active > 0) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const server = http.createServer((req, res) => {
    active++;
    let n = 0;
    let over = false;
    const seen = (bodyBytes: number): SeenRequest => ({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      bodyBytes,
    });
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => {
      over = true;
      done(seen(n));
      res.setHeader("x-upstream-body-bytes", n);
      res.end("ok");
    });
    req.on("close", () => {
      if (over) return;
      over = true;
      done(seen(-1));
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    // A connection closed mid-request is the proxy aborting a request it had begun to stream.
    if (err.code !== "ECONNRESET" && err.code !== "HPE_INVALID_EOF_STATE")
      parseErrors.push(err.code ?? err.message);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    parseErrors,
    settled: (capMs) =>
      active === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, capMs);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
    reset: () => {
      requests.length = 0;
      parseErrors.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export interface ExchangeResult {
  /** Status of the first response; 0 if the connection closed (or stayed silent) without one. */
  readonly status: number;
  /** Complete responses read before the connection closed. */
  readonly responses: number;
  /** The first response never came and the connection was still open when the cap expired. */
  readonly timedOut: boolean;
}

/** Length of the first complete response in `buf` (Content-Length or chunked), or undefined. */
function responseLength(buf: string): { status: number; length: number } | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buf.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    // The responses here carry no chunk extensions or trailers: the last chunk ends them.
    const last = buf.indexOf("0\r\n\r\n", end + 4);
    return last < 0 ? undefined : { status, length: last + 5 };
  }
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  const length = end + 4 + (cl === undefined ? 0 : Number(cl));
  return buf.length >= length ? { status, length } : undefined;
}

/**
 * Sends `c.bytes` on a new connection. Once the first response is complete the client ends its
 * side, so a server that reads a second (smuggled) request answers it before closing; whatever
 * it sends is counted. Gives up after `capMs` with the connection still open.
 */
export function exchange(port: number, c: CorpusCase, capMs: number): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    let buf = "";
    let status = 0;
    let responses = 0;
    let ended = false;
    let timedOut = false;
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(c.bytes, "latin1");
      if (c.endAfterWrite === true) {
        ended = true;
        s.end();
      }
    });
    const timer = setTimeout(() => {
      timedOut = responses === 0;
      s.destroy();
    }, capMs);
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (let r = responseLength(buf); r !== undefined; r = responseLength(buf)) {
        if (responses === 0) status = r.status;
        responses++;
        buf = buf.slice(r.length);
      }
      if (responses > 0 && !ended) {
        ended = true;
        s.end();
      }
    });
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ status, responses, timedOut });
    });
  });
}
