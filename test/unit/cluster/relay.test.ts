// The API relay must not hold a socket once its partner is gone, however the connection ends:
// the node agent once ran out of file descriptors with 20,088 sockets left in state CLOSE.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import net from "node:net";
import { startRelay } from "../../cluster/node-agent/relay.js";

const fdCount = (): number => readdirSync("/proc/self/fd").length;

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** One exchange through the relay, ended the way `how` says. */
function exchange(
  port: number,
  how: "client-end" | "client-reset" | "server-end" | "server-reset",
): Promise<void> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.on("error", () => undefined);
    c.on("close", () => {
      resolve();
    });
    c.resume(); // read what comes, so the FIN is seen
    c.once("connect", () => {
      c.write(`${how}\n`);
      if (how === "client-end") c.end();
      if (how === "client-reset") setTimeout(() => c.resetAndDestroy(), 20);
    });
    c.on("end", () => c.end());
  });
}

describe("node agent relay", () => {
  let target: net.Server;
  let targetPort: number;
  const live = new Set<net.Socket>();

  before(async () => {
    target = net.createServer((s) => {
      live.add(s);
      s.on("close", () => live.delete(s));
      s.on("error", () => undefined);
      s.once("data", (d) => {
        const how = d.toString().trim();
        if (how === "server-end") s.end("bye\n");
        else if (how === "server-reset") s.resetAndDestroy();
        else s.write("hello\n"); // client-ended: the client closes
      });
      s.on("end", () => s.end());
    });
    targetPort = await listen(target);
  });

  after(() => {
    target.close();
  });

  it("closes both sides however a connection ends, so descriptors return to their baseline", async () => {
    const relay = await startRelay({
      listenHost: "127.0.0.1",
      listenPort: 0,
      targetHost: "127.0.0.1",
      targetPort,
    });
    const port = (relay.address() as net.AddressInfo).port;
    const baseline = fdCount();
    const hows = ["client-end", "client-reset", "server-end", "server-reset"] as const;
    for (let round = 0; round < 25; round++) {
      await Promise.all(hows.map((h) => exchange(port, h)));
    }
    await until(
      "the relay's and the target's sockets to close",
      () => live.size === 0 && fdCount() <= baseline,
    );
    assert.ok(fdCount() <= baseline, `fds ${String(fdCount())} > baseline ${String(baseline)}`);
    relay.close();
  });

  it("closes the pod's side when the target refuses the connection", async () => {
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    const relay = await startRelay({
      listenHost: "127.0.0.1",
      listenPort: 0,
      targetHost: "127.0.0.1",
      targetPort: deadPort,
    });
    const port = (relay.address() as net.AddressInfo).port;
    const baseline = fdCount();
    await Promise.all(Array.from({ length: 20 }, () => exchange(port, "client-end")));
    await until("descriptors back to baseline", () => fdCount() <= baseline);
    relay.close();
  });
});
