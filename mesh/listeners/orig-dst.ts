// Where a redirected connection was going: `getsockopt(fd, SOL_IP, SO_ORIGINAL_DST)` on the
// accepted socket, answered by conntrack (the NAT REDIRECT rewrote the destination to our
// listener). Node has no getsockopt, so libc is called through koffi (FFI, a prebuilt binary);
// `OriginalDestinationReader` is the seam an N-API addon could replace it behind. koffi is loaded
// on first use, so a proxy without transparent capture never loads native code.
import type { Socket } from "node:net";
import type Koffi from "koffi";
import { VireoError } from "../../src/common/errors.js";

export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

/** Reads a socket's original IPv4 destination; undefined when conntrack has none (ENOENT). */
export interface OriginalDestinationReader {
  read(fd: number): OriginalDestination | undefined;
}

const SOL_IP = 0;
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const ENOENT = 2;
const SOCKADDR_IN_BYTES = 16;

/** `struct sockaddr_in` as the kernel writes it: family (host order), port and address (network). */
export function decodeSockaddrIn(buf: Buffer): OriginalDestination | undefined {
  if (buf.length < 8 || buf.readUInt16LE(0) !== AF_INET) return undefined;
  return {
    port: buf.readUInt16BE(2),
    address: `${String(buf[4])}.${String(buf[5])}.${String(buf[6])}.${String(buf[7])}`,
  };
}

type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;

/** libc getsockopt through koffi; koffi imported once, on first call. */
export async function koffiReader(): Promise<OriginalDestinationReader> {
  let koffi: typeof Koffi;
  try {
    koffi = (await import("koffi")).default;
  } catch (err) {
    throw new VireoError(
      "CaptureUnavailable",
      `koffi (needed to read SO_ORIGINAL_DST) did not load: ${(err as Error).message}`,
    );
  }
  const libc = koffi.load("libc.so.6");
  const getsockopt = libc.func(
    "int getsockopt(int fd, int level, int name, _Out_ uint8_t *buf, _Inout_ uint32_t *len)",
  ) as GetSockOpt;
  return {
    read(fd) {
      const buf = Buffer.alloc(SOCKADDR_IN_BYTES);
      const len = [SOCKADDR_IN_BYTES];
      if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, buf, len) === 0) return decodeSockaddrIn(buf);
      const errno = koffi.errno();
      if (errno === ENOENT) return undefined;
      throw new VireoError(
        "OriginalDestination",
        `getsockopt(SO_ORIGINAL_DST) on fd ${String(fd)} failed: errno ${String(errno)}`,
      );
    },
  };
}

/** The socket's fd; only while the handle lives, so call it in the `connection` handler. */
function fdOf(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

const unmapped = (a: string): string => (a.startsWith("::ffff:") ? a.slice(7) : a);

/**
 * The original destination of a redirected connection; undefined when it was not redirected
 * (conntrack's answer is the listener's own address: a client dialled us, the HTTP_PROXY case) or
 * conntrack has no entry.
 */
export function originalDestination(
  reader: OriginalDestinationReader,
  socket: Socket,
): OriginalDestination | undefined {
  const fd = fdOf(socket);
  if (fd === undefined) return undefined;
  const dst = reader.read(fd);
  if (dst === undefined) return undefined;
  const local = unmapped(socket.localAddress ?? "");
  if (dst.address === local && dst.port === socket.localPort) return undefined;
  return dst;
}
