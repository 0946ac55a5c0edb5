// Writes the benchmark's resource dump: the bench cluster translated by src/xds/translate and
// encoded once per variant (variant 0 the initial config, each next one a canary weight step).
//   node --import tsx test/bench/xds/make-config.ts --services 100 --out /tmp/dump.json
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { benchApps, benchState, WEIGHT_STEPS } from "./bench-state.js";
import type { Dump, DumpVariant } from "./dump.js";
import { dumpVariant } from "./dump.js";

export interface DumpOptions {
  /** Applications; every fourth runs a Rollout and adds -primary and -canary Services. */
  readonly services: number;
  /** Rollouts whose weight changes from one variant to the next. */
  readonly changing?: number;
}

export function makeDump(options: DumpOptions): Dump {
  const codecs = loadXdsProtos().codecs;
  const apps = benchApps(options.services);
  const changing = options.changing ?? 1;
  const variants = WEIGHT_STEPS.map((_, i) =>
    dumpVariant(
      String(i),
      buildSnapshot(i + 1, translate(benchState(apps, i, changing), codecs), codecs),
    ),
  );
  variants.forEach((a, i) => {
    const b = variants[(i + 1) % variants.length];
    if (b !== undefined) checkStep(a, b);
  });
  return { services: options.services, variants };
}

/** Consecutive variants must name the same resources and differ in some. */
function checkStep(a: DumpVariant, b: DumpVariant): void {
  const names = (v: DumpVariant): string =>
    v.resources.map((r) => `${r.typeUrl} ${r.name}`).join("\n");
  if (names(a) !== names(b))
    throw new Error(`variants ${a.version} and ${b.version}: names differ`);
  if (a.resources.every((r, i) => r.value === b.resources[i]?.value)) {
    throw new Error(`variants ${a.version} and ${b.version} are identical`);
  }
}

/** Resource count and encoded bytes per type of variant 0. */
export function dumpSummary(dump: Dump): Record<string, { count: number; bytes: number }> {
  const out: Record<string, { count: number; bytes: number }> = {};
  for (const r of dump.variants[0]?.resources ?? []) {
    const short = r.typeUrl.slice(r.typeUrl.lastIndexOf(".") + 1);
    const s = (out[short] ??= { count: 0, bytes: 0 });
    s.count++;
    s.bytes += Buffer.byteLength(r.value, "base64");
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      services: { type: "string", default: "100" },
      changing: { type: "string", default: "1" },
      out: { type: "string" },
    },
  });
  if (values.out === undefined) throw new Error("--out is required");
  const dump = makeDump({ services: Number(values.services), changing: Number(values.changing) });
  await writeFile(values.out, JSON.stringify(dump));
  process.stderr.write(
    `${values.out}: ${dump.variants.length} variants; ${JSON.stringify(dumpSummary(dump))}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
