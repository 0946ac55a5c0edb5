// Special functions the confidence sequences need: ln Γ and ln B. ln Γ uses Stirling's series at
// x ≥ 15 (the first omitted term is below 1e-19 there) and the recurrence Γ(x+1) = x·Γ(x) below
// it. The Lanczos form often quoted (g = 7, nine coefficients) is only good to about 1e-8 here.

/** Stirling's series for ln Γ(x) − [(x − ½)ln x − x + ½ln 2π]: B_2k / (2k(2k−1)x^(2k−1)). */
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156] as const;

/** ln Γ(x) for x > 0. */
export function lgamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`lgamma needs 0 < x < ∞, got ${x}`);
  let shift = 0;
  let z = x;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const inv = 1 / z;
  const inv2 = inv * inv;
  let series = 0;
  let power = inv;
  for (const c of STIRLING) {
    series += c * power;
    power *= inv2;
  }
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** ln Σ exp(x_i), subtracting the largest first so that nothing overflows. */
export function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}
