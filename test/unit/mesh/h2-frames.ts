// A raw HTTP/2 client for the stream-flood cases: frames written by hand, so it can do what
// node's client will not (open more streams than the server allows, reset them at once).
import net from "node:net";

export const FRAME = { HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const CANCEL = 8;

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** GET / for `authority`: static-table :method GET, :scheme http, :path /, literal :authority. */
export function getHeaders(stream: number, authority: string): Buffer {
  const a = Buffer.from(authority, "latin1");
  const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, a.length]), a]);
  return frame(FRAME.HEADERS, END_HEADERS | END_STREAM, stream, block);
}

export function reset(stream: number): Buffer {
  const code = Buffer.alloc(4);
  code.writeUInt32BE(CANCEL);
  return frame(FRAME.RST_STREAM, 0, stream, code);
}

export interface RawH2 {
  write(b: Buffer): void;
  /** Frames of each type received so far. */
  readonly received: Map<number, number>;
  /** Resolves when the server has closed the connection (or after `capMs`). */
  closed(capMs: number): Promise<boolean>;
  /** Resolves when a frame of `type` has come or the connection closed (false after `capMs`). */
  frameOrClose(type: number, capMs: number): Promise<boolean>;
  destroy(): void;
}

/** Connects, sends the preface and empty SETTINGS, and acknowledges the server's SETTINGS. */
export function connectRawH2(port: number): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const received = new Map<number, number>();
    let buf = Buffer.alloc(0);
    let isClosed = false;
    const onClose: (() => void)[] = [];
    let onFrame: (() => void)[] = [];
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(
        Buffer.concat([
          Buffer.from(PREFACE, "latin1"),
          frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)),
        ]),
      );
    });
    s.on("error", reject);
    s.on("close", () => {
      isClosed = true;
      for (const f of onClose.splice(0)) f();
    });
    let ready = false;
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3] ?? 0;
        const flags = buf[4] ?? 0;
        buf = buf.subarray(9 + len);
        received.set(type, (received.get(type) ?? 0) + 1);
        const waiting = onFrame;
        onFrame = [];
        for (const f of waiting) f();
        if (type === FRAME.SETTINGS && (flags & ACK) === 0) {
          s.write(frame(FRAME.SETTINGS, ACK, 0, Buffer.alloc(0)));
          if (!ready) {
            ready = true;
            resolve({
              write: (b) => {
                if (!s.destroyed) s.write(b);
              },
              received,
              closed: (capMs) =>
                isClosed
                  ? Promise.resolve(true)
                  : new Promise((res) => {
                      const t = setTimeout(() => {
                        res(false);
                      }, capMs);
                      onClose.push(() => {
                        clearTimeout(t);
                        res(true);
                      });
                    }),
              frameOrClose: (t, capMs) =>
                new Promise((res) => {
                  const timer = setTimeout(() => {
                    res(false);
                  }, capMs);
                  const check = (): void => {
                    if (isClosed || (received.get(t) ?? 0) > 0) {
                      clearTimeout(timer);
                      res(true);
                    } else {
                      onFrame.push(check);
                    }
                  };
                  onClose.push(check);
                  check();
                }),
              destroy: () => s.destroy(),
            });
          }
        }
      }
    });
  });
}
