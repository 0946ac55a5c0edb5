// A local HTTP receiver on port 0 for the notification tests: it records every request (path,
// headers, raw body) and answers from a script, one reply per request, the last one repeating.
import http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** "hang": read the request and never answer (a timeout for the sender). */
export type Reply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | "hang";

export const OK: Reply = { status: 200, body: "ok" };

export class Receiver {
  readonly requests: Received[] = [];
  /** Requests answered with a 2xx: the messages the service accepted. */
  accepted = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly replies: readonly Reply[],
  ) {}

  static async start(replies: readonly Reply[] = [OK]): Promise<Receiver> {
    const server = http.createServer((req, res) => {
      receiver.handle(req, res);
    });
    const receiver = new Receiver(server, replies);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  url(path = "/hook"): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${path}`;
  }

  /** The bodies as JSON. */
  get bodies(): unknown[] {
    return this.requests.map((r) => JSON.parse(r.body) as unknown);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const index = this.requests.length;
      this.requests.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const reply = this.replies[Math.min(index, this.replies.length - 1)] ?? OK;
      if (reply === "hang") return;
      if (reply.status >= 200 && reply.status < 300) this.accepted++;
      res.writeHead(reply.status, reply.headers).end(reply.body ?? "");
    });
  }
}
