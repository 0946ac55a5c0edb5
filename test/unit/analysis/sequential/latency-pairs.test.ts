import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Segment } from "../../../../src/analysis/sequential/eprocess.js";
import { logEHarm } from "../../../../src/analysis/sequential/eprocess.js";
import {
  bucketQuantile,
  DURATION_EDGES_MS,
  thresholdPairs,
} from "../../../../src/analysis/sequential/latency-pairs.js";
import { Rng } from "../../../bench/analysis/rng.js";

describe("latency threshold pairs", () => {
  it("the edges are the proxies' histogram buckets", () => {
    const text = readFileSync(
      new URL("../../../../mesh/telemetry/metrics.ts", import.meta.url),
      "utf8",
    );
    const m = /DURATION_BUCKETS_MS: readonly number\[\] = \[([^\]]*)\]/.exec(text);
    assert.ok(m?.[1] !== undefined, "DURATION_BUCKETS_MS not found in mesh/telemetry/metrics.ts");
    const edges = m[1]
      .split(",")
      .map((x) => Number(x.trim()))
      .filter((x) => !Number.isNaN(x) && x > 0);
    assert.deepEqual(edges, DURATION_EDGES_MS);
  });

  const table: {
    name: string;
    q: { quantile: number; ms: number }[];
    margin: Parameters<typeof thresholdPairs>[2];
    want: ReturnType<typeof thresholdPairs>;
  }[] = [
    {
      name: "20 ms on 42 ms and 210 ms: the primary's edge rounds down, the canary's up",
      q: [
        { quantile: 0.5, ms: 42 },
        { quantile: 0.99, ms: 210 },
      ],
      margin: { kind: "absolute", ms: 20 },
      want: [
        { quantile: 0.5, primaryLe: 25, canaryLe: 50 },
        { quantile: 0.99, primaryLe: 100, canaryLe: 250 },
      ],
    },
    {
      name: "a quantile on an edge stays on it",
      q: [{ quantile: 0.5, ms: 100 }],
      margin: { kind: "relative", percent: 150 },
      want: [{ quantile: 0.5, primaryLe: 100, canaryLe: 250 }],
    },
    {
      name: "below the first edge, the first; none beyond the last edge, none twice, none for NaN",
      q: [
        { quantile: 0.5, ms: 0.1 },
        { quantile: 0.9, ms: 4_000_000 },
        { quantile: 0.95, ms: 2 },
        { quantile: 0.99, ms: 2.4 },
        { quantile: 0.999, ms: NaN },
      ],
      margin: { kind: "absolute", ms: 1 },
      want: [
        { quantile: 0.5, primaryLe: 0.5, canaryLe: 2 },
        { quantile: 0.95, primaryLe: 2, canaryLe: 5 },
      ],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      assert.deepEqual(thresholdPairs(DURATION_EDGES_MS, t.q, t.margin), t.want);
    });
  }

  it("a canary exactly at the margin is falsely flagged ≤ α (Monte Carlo, seed 11)", () => {
    // Primary: log-normal, median 40 ms, σ 0.6; canary: the same plus 50 ms. With T = 50 and
    // T' = 100, P(canary > 100) = P(primary > 50): the null's boundary. ρ moves 0.1 → 0.3 → 0.6.
    const rng = new Rng(11);
    const alpha = 0.01;
    const paths = 400;
    let rejected = 0;
    for (let i = 0; i < paths; i++) {
      const segs: Segment[] = [];
      for (const rho of [0.1, 0.3, 0.6]) {
        let a = 0;
        let b = 0;
        let hit = false;
        for (let n = 0; n < 1500; n++) {
          const x = 40 * Math.exp(0.6 * rng.normal());
          if (rng.bernoulli(rho)) {
            if (x + 50 > 100) a++;
          } else if (x > 50) b++;
          if (
            n % 20 === 19 &&
            logEHarm([...segs, { rho, a, b, nC: 0, nP: 0 }]) >= Math.log(1 / alpha)
          ) {
            hit = true;
            break;
          }
        }
        segs.push({ rho, a, b, nC: 0, nP: 0 });
        if (hit) {
          rejected++;
          break;
        }
      }
    }
    const bound = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / paths);
    assert.ok(rejected / paths <= bound, `${rejected}/${paths}`);
  });

  // Against values worked out by hand with Prometheus's histogram_quantile rule.
  it("reads quantiles as histogram_quantile does", () => {
    const b = new Map([
      ["10", 50],
      ["20", 90],
      ["40", 100],
      ["+Inf", 100],
    ]);
    // rank 50 is the top of the first bucket; rank 70 is half-way through (10, 20].
    assert.equal(bucketQuantile(b, 0.5), 10);
    assert.equal(bucketQuantile(b, 0.7), 15);
    assert.equal(bucketQuantile(b, 0.95), 30);
    assert.equal(bucketQuantile(b, 0.25), 5);
    // Above the last finite edge: that edge.
    assert.equal(
      bucketQuantile(
        new Map([
          ["10", 1],
          ["+Inf", 4],
        ]),
        0.9,
      ),
      10,
    );
    assert.ok(Number.isNaN(bucketQuantile(new Map([["+Inf", 0]]), 0.5)));
  });
});
