// What a captured connection speaks, from its first bytes: the HTTP/2 preface (h2c, gRPC), an
// HTTP/1.x request line (then the Host it names), or anything else (TLS ClientHello, a binary
// client-first protocol), which is passed through untouched. Pure: bytes in, verdict out.

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** A request head larger than this is not worth routing by Host: pass it through. */
const MAX_HEAD_BYTES = 16 * 1024;
const METHOD_PREFIX = /^[A-Z]{0,20}$/;
const REQUEST_LINE = /^[A-Z]{1,20} \S+ HTTP\/1\.[01]$/;
const METHOD_AND_TARGET =
  /^[A-Z]{1,20}(?: \S*(?: H(?:T(?:T(?:P(?:\/(?:1(?:\.[01]?)?)?)?)?)?)?)?)?$/;

export type Detected =
  | { readonly protocol: "h2" }
  | { readonly protocol: "h1"; readonly host: string | undefined }
  | { readonly protocol: "other" };

/** The verdict, or undefined while more bytes are needed to tell. */
export function detectProtocol(seen: Buffer): Detected | undefined {
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.compare(PREFACE, 0, n, 0, n) === 0) {
    return n === PREFACE.length ? { protocol: "h2" } : undefined;
  }
  const text = seen.toString("latin1", 0, Math.min(seen.length, MAX_HEAD_BYTES));
  const eol = text.indexOf("\r\n");
  if (eol < 0) {
    if (seen.length >= MAX_HEAD_BYTES) return { protocol: "other" };
    const ok = METHOD_PREFIX.test(text) || METHOD_AND_TARGET.test(text);
    return ok ? undefined : { protocol: "other" };
  }
  if (!REQUEST_LINE.test(text.slice(0, eol))) return { protocol: "other" };
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) {
    // The head continues; the Host line may already be there.
    const host = hostIn(text.slice(eol + 2, text.lastIndexOf("\r\n")));
    if (host !== undefined) return { protocol: "h1", host };
    return seen.length >= MAX_HEAD_BYTES ? { protocol: "h1", host: undefined } : undefined;
  }
  return { protocol: "h1", host: hostIn(text.slice(eol + 2, end)) };
}

function hostIn(headers: string): string | undefined {
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === "host") {
      return line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
    }
  }
  return undefined;
}
