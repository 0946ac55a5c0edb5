// The controller process: parse the configuration, start, and stop cleanly on SIGTERM.
import { describeError } from "./common/errors.js";
import { createLogger } from "./common/logger.js";
import { parseConfig } from "./config/config.js";
import { startController } from "./app.js";

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const log = createLogger({ component: "controller", level: config.logLevel });
  // A replica that lost the lease stops writing at once and restarts clean as a follower.
  const running = await startController(config, () => process.exit(1));
  // Until here an unhandled rejection ends the process (start-up failed, Kubernetes restarts us);
  // once running, it is logged and counted instead, so a missed API error cannot crash-loop it.
  process.on("unhandledRejection", (reason) => {
    running.unhandledRejection(reason);
  });
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    try {
      await running.stop();
    } catch (err) {
      log.error("stopping failed", { error: describeError(err) });
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`vireo controller: ${describeError(err)}\n`);
  process.exit(1);
});
