// A real nginx (Debian's package) as the reference proxy of the malformed-input corpus: run in the
// foreground as a child with its own prefix under a temporary directory, proxying one loopback
// upstream, with its body and header timeouts short so slow cases end within a test's time.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface NginxPeer {
  readonly port: number;
  stop(): Promise<void>;
}

export interface NginxTimeouts {
  readonly clientHeaderTimeoutS: number;
  readonly clientBodyTimeoutS: number;
}

function config(dir: string, port: number, upstreamPort: number, t: NginxTimeouts): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    client_header_timeout ${t.clientHeaderTimeoutS}s;
    client_body_timeout ${t.clientBodyTimeoutS}s;
    upstream app { server 127.0.0.1:${upstreamPort}; keepalive 8; }
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      resolve(false);
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** nginx in front of 127.0.0.1:<upstreamPort>; resolves once it accepts connections. */
export async function startNginxPeer(upstreamPort: number, t: NginxTimeouts): Promise<NginxPeer> {
  const dir = await mkdtemp(join(tmpdir(), "vireo-nginx-"));
  await mkdir(join(dir, "tmp"));
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  await writeFile(conf, config(dir, port, upstreamPort, t));
  const child = spawn(
    "nginx",
    ["-p", dir, "-c", conf, "-e", join(dir, "error.log"), "-g", "daemon off;"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  // SIGTERM: the master stops its worker, then exits. A SIGKILLed master would leave the worker
  // running, orphaned, on the port; SIGKILL only if the master has not exited after 5 s.
  const stop = async (): Promise<void> => {
    if (!exited(child)) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // nginx binds before it forks its worker; polled with a cap, since it says nothing when ready.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const failed = await Promise.race([spawnError, Promise.resolve(undefined)]);
    if (failed !== undefined || exited(child)) {
      await stop();
      throw new Error(`nginx did not start: ${failed?.message ?? stderr}`);
    }
    if (await connects(port)) return { port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx not listening on ${port} after 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
