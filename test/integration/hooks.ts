// Mocha root hooks for the integration tier: bring the local cluster up once per run (reusing a
// healthy one), and stop it afterwards only if this run started it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { clusterDir, repoRoot } from "./harness.js";

function running(): boolean {
  return existsSync(join(clusterDir, "pids", "kube-apiserver.pid"));
}

let startedHere = false;

export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    this.timeout(10 * 60 * 1000);
    startedHere = !running();
    execFileSync(join(repoRoot, "test/cluster/up.sh"), { stdio: "inherit" });
  },
  afterAll(this: Mocha.Context): void {
    this.timeout(2 * 60 * 1000);
    if (startedHere && process.env.VIREO_KEEP_CLUSTER !== "1") {
      execFileSync(join(repoRoot, "test/cluster/down.sh"), { stdio: "inherit" });
    }
  },
};
