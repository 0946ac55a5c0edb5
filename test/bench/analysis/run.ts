// The analysis benchmark (issue 16): simulated releases, healthy and faulty, judged by vireo's
// sequential judge, Flagger's threshold rule and a Kayenta-style Mann–Whitney test, all on the
// same seeded request streams. Prints false-rollback and detection rates, time to decision and
// failed canary requests before the rollback. Fails only on errors, never on figures.
//   node --import tsx test/bench/analysis/run.ts [--healthy 1000] [--faulty 1000] [--seed 1] [--tiny]
import { parseArgs } from "node:util";
import type { Judge, Outcome } from "./judges.js";
import { flaggerJudge, kayentaJudge, SEQUENTIAL_DEFAULTS, sequentialJudge } from "./judges.js";
import type { Row } from "./report.js";
import { formatRows } from "./report.js";
import { Rng } from "./rng.js";
import type { Fault, Release } from "./scenario.js";
import { drawRelease, FAULTS, faultName, simulate } from "./scenario.js";

const { values } = parseArgs({
  options: {
    healthy: { type: "string" },
    faulty: { type: "string" },
    seed: { type: "string", default: "1" },
    tiny: { type: "boolean", default: false },
  },
});
const count = (flag: string, v: string | undefined, fallback: number): number => {
  const n = Number(v ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: expected an integer >= 1`);
  return n;
};
const tiny = values.tiny;
const healthy = count("healthy", values.healthy, tiny ? 20 : 1000);
const faulty = count("faulty", values.faulty, tiny ? 20 : 1000);
const seed = count("seed", values.seed, 1);

const judges: readonly Judge[] = [
  sequentialJudge(),
  sequentialJudge({ ...SEQUENTIAL_DEFAULTS, fineBuckets: true }),
  flaggerJudge(10, 2),
  flaggerJudge(10, 2, 10),
  kayentaJudge(10),
  kayentaJudge(60),
];

const started = Date.now();
const rng = new Rng(seed);
const releases: Release[] = [];
for (let i = 0; i < healthy; i++) releases.push(drawRelease(i, { kind: "healthy" }, rng));
for (let i = 0; i < faulty; i++) {
  const fault: Fault = FAULTS[i % FAULTS.length] ?? { kind: "healthy" };
  releases.push(drawRelease(healthy + i, fault, rng));
}

const results = new Map<string, Outcome[]>();
const key = (judge: string, group: string) => `${judge}\n${group}`;
const push = (judge: string, group: string, o: Outcome) => {
  const k = key(judge, group);
  const list = results.get(k) ?? [];
  list.push(o);
  results.set(k, list);
};
for (const r of releases) {
  // Each release's stream and each judge's own randomness come from seeds fixed by its id.
  const stream = simulate(r, new Rng(seed * 1_000_003 + r.id));
  const fault = faultName(r.fault);
  for (const j of judges) {
    const o = j.judge(r, stream, new Rng(seed * 7_919 + r.id));
    push(j.name, fault, o);
    if (r.fault.kind === "healthy") push(j.name, `healthy, ${r.stratum}`, o);
    else push(j.name, "all faulty", o);
  }
}

const groups = [
  "healthy",
  "healthy, demo shape",
  "healthy, 2-10 req/s",
  "healthy, 10-50 req/s",
  "healthy, 50-200 req/s",
  ...FAULTS.map(faultName),
  "all faulty",
];
const rows: Row[] = [];
for (const g of groups) {
  for (const j of judges) {
    const outcomes = results.get(key(j.name, g));
    if (outcomes !== undefined)
      rows.push({ judge: j.name, group: g, outcomes, faulty: !g.startsWith("healthy") });
  }
}
console.log(
  `analysis benchmark: ${healthy} healthy and ${faulty} faulty releases, seed ${seed}${tiny ? " (tiny)" : ""}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
console.log(formatRows(rows));
