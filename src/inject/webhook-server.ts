// The injection webhook's HTTPS port (POST /inject). Every controller replica serves it: it is
// stateless, so the webhook Service selects all of them, not only the leader. The certificate can
// be swapped at run time (renewal, root rotation) without closing the port.
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/logger.js";
import { BadReview, review } from "./admission.js";
import type { InjectConfig } from "./config.js";

export const INJECT_PATH = "/inject";
const MAX_BODY = 8 * 1024 * 1024;

export interface ServingCertificate {
  readonly certChainPem: string;
  readonly keyPem: string;
}

export interface WebhookServer {
  readonly port: number;
  setCertificate(cert: ServingCertificate): void;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: {
  readonly port: number;
  readonly host: string;
  readonly certificate: ServingCertificate;
  readonly config: InjectConfig;
  readonly log: Logger;
}): Promise<WebhookServer> {
  const server = https.createServer(
    { cert: opts.certificate.certChainPem, key: opts.certificate.keyPem },
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/healthz") {
        res.writeHead(200).end("ok\n");
        return;
      }
      if (req.method !== "POST" || path !== INJECT_PATH) {
        res.writeHead(404).end("not found\n");
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy();
        else chunks.push(c);
      });
      req.on("end", () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          const out = review(body, opts.config);
          const w = out.response.warnings;
          if (w !== undefined && out.response.patch === undefined) {
            opts.log.warn("pod admitted without injection", { warnings: w.join("; ") });
          }
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          const code = err instanceof BadReview || err instanceof SyntaxError ? 400 : 500;
          opts.log.warn("bad admission request", { error: message });
          res.writeHead(code, { "content-type": "text/plain" }).end(`${message}\n`);
        }
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setCertificate(cert) {
      server.setSecureContext({ cert: cert.certChainPem, key: cert.keyPem });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
