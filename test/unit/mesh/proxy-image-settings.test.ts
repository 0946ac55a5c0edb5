// The proxy's memory settings (docs/benchmarks.md, issue 14) are given twice: in the Dockerfile's
// proxy target and in the local cluster's vireo/proxy entrypoint. They must not drift apart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

interface Settings {
  readonly env: Record<string, string>;
  readonly nodeFlags: string[];
}

function pair(assignment: string): [string, string] {
  const eq = assignment.indexOf("=");
  assert.ok(eq > 0, `"${assignment}" is not NAME=VALUE`);
  return [assignment.slice(0, eq), assignment.slice(eq + 1)];
}

/** ENV lines and the node flags of ENTRYPOINT in the `proxy` target. */
function dockerfileSettings(text: string): Settings {
  const start = text.indexOf("FROM runtime AS proxy");
  assert.ok(start >= 0, "no proxy target in the Dockerfile");
  const rest = text.slice(start + 1);
  const end = rest.indexOf("\nFROM ");
  const lines = (end < 0 ? rest : rest.slice(0, end)).split("\n");
  const env = Object.fromEntries(
    lines.filter((l) => l.startsWith("ENV ")).map((l) => pair(l.slice(4).trim())),
  );
  const entry = lines.find((l) => l.startsWith("ENTRYPOINT "));
  assert.ok(entry !== undefined, "no ENTRYPOINT in the proxy target");
  const argv = JSON.parse(entry.slice("ENTRYPOINT ".length)) as string[];
  assert.equal(argv[0], "node");
  assert.equal(argv.at(-1), "dist/mesh/main.js");
  return { env, nodeFlags: argv.slice(1, -1) };
}

/** `env NAME=VALUE… node FLAGS… --import tsx mesh/main.ts` from images.json. */
function clusterSettings(entrypoint: readonly string[]): Settings {
  assert.equal(entrypoint[0], "env");
  const node = entrypoint.indexOf("node");
  assert.ok(node > 0, "the entrypoint does not run node");
  const env = Object.fromEntries(entrypoint.slice(1, node).map(pair));
  assert.deepEqual(entrypoint.slice(-3), ["--import", "tsx", "mesh/main.ts"]);
  return { env, nodeFlags: entrypoint.slice(node + 1, -3) };
}

describe("proxy image settings", () => {
  it("are the same in the Dockerfile's proxy target and the local cluster's vireo/proxy", () => {
    const docker = dockerfileSettings(readFileSync(join(REPO, "Dockerfile"), "utf8"));
    const images = JSON.parse(
      readFileSync(join(REPO, "test", "cluster", "images.json"), "utf8"),
    ) as Record<string, { entrypoint: string[] }>;
    const proxy = images["vireo/proxy"];
    assert.ok(proxy !== undefined);
    assert.deepEqual(clusterSettings(proxy.entrypoint), docker);
  });

  it("cap V8's young generation and keep glibc's malloc from holding freed memory", () => {
    const docker = dockerfileSettings(readFileSync(join(REPO, "Dockerfile"), "utf8"));
    assert.deepEqual(docker.nodeFlags, ["--max-semi-space-size=2"]);
    assert.equal(docker.env.MALLOC_ARENA_MAX, "2");
  });
});
