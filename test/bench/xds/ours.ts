// vireo's side of the xDS benchmark: XdsServer serving the resource dump, with the same control
// endpoint as gcp-peer (POST /variant/<i> switches variant, POST /gc collects garbage before an
// RSS reading, GET /memory gives the runtime's own accounting in bytes). Prints
// {"xds":port,"control":port,"pid":pid} on stdout once it serves.
//   node --expose-gc --import tsx test/bench/xds/ours.ts --dump /tmp/dump.json
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { readDump, variantResources } from "./dump.js";

const { values } = parseArgs({
  options: {
    dump: { type: "string" },
    "log-level": { type: "string", default: "warn" },
  },
});
if (values.dump === undefined) throw new Error("--dump is required");
const level = values["log-level"] === "info" ? "info" : "warn";
const variants = (await readDump(values.dump)).variants.map(variantResources);

const server = new XdsServer({
  log: createLogger({ component: "xds", level }),
  clock: systemClock,
});
// Versions only go up; switching back to an earlier variant is a new snapshot with its content.
let version = 0;
const serve = (i: number): boolean => {
  const resources = variants[i];
  if (resources === undefined) return false;
  server.setSnapshot({ version: ++version, resources });
  return true;
};
serve(0);
const xdsPort = await server.listen(0, "127.0.0.1");

const gc = (globalThis as { gc?: () => void }).gc;
const control = createServer((req, res) => {
  const variant = /^\/variant\/(\d+)$/.exec(req.url ?? "");
  let status = 404;
  if (req.method === "POST" && variant?.[1] !== undefined) {
    status = serve(Number(variant[1])) ? 204 : 400;
  } else if (req.method === "POST" && req.url === "/gc") {
    gc?.();
    status = 204;
  } else if (req.method === "GET" && req.url === "/memory") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(process.memoryUsage()));
    return;
  }
  res.writeHead(status).end();
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

process.stdout.write(
  `${JSON.stringify({ xds: xdsPort, control: (control.address() as AddressInfo).port, pid: process.pid })}\n`,
);
const stop = (): void => {
  control.close();
  void server.close().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
