/** Latency summaries: nearest-rank percentiles over every sample (no sampling, no histograms). */
export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => round1(s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!);
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round1(s[s.length - 1]!), mean: round1(sum / s.length) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
