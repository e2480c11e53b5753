/**
 * `node bench/gc-trace.ts <bench log> [from] [to]`: sums the `--trace-gc-nvp` lines of a bench
 * run per isolate and kind of GC (s: scavenge, mc: mark-compact) between two lines of its log
 * (by default workload (b): from "bench: switch:" to "bench: full:") — count, pauses and their
 * phases, and what was allocated, survived a scavenge and was promoted.
 *
 *   npm run bench -- --repeat 1 --no-peers --events 50000 --full-speed 1 --duration 1 \
 *     --node-args=--trace-gc-nvp > run.log 2>&1
 *   node bench/gc-trace.ts run.log
 *
 * Why: on a machine whose speed moves ±40 % within minutes, the delivery thread's allocated,
 * surviving and promoted bytes per run hold still where its CPU does not (docs/performance-history.md, session 15):
 * a change that removes allocations shows here first.
 */
import { readFileSync } from 'node:fs';

const [file, from = 'bench: switch:', to = 'bench: full:'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/gc-trace.ts <bench log> [from] [to]');
  process.exit(2);
}
// Not phases: sizes, rates and counters, summed apart below or not at all.
const NOT_A_PHASE = /size|limit|throughput|ratio|rate|allocated|promoted|survived|memory|nodes|mutator|chunks|capacity|speed|count/;
let on = false;
const per = new Map<string, Map<string, number>>();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (line.includes(from)) on = true;
  if (on && line.includes(to)) break;
  if (!on) continue;
  const m = /^\[(\d+):(0x[0-9a-f]+)(?::\d+)?\]/.exec(line);
  if (!m || !line.includes('pause=')) continue;
  const kind = /\bgc=(\w+)/.exec(line)?.[1] ?? '?';
  const key = `${m[2]} ${kind}`;
  let s = per.get(key);
  if (!s) per.set(key, (s = new Map()));
  s.set('n', (s.get('n') ?? 0) + 1);
  for (const [, k, v] of line.matchAll(/([a-z_.]+)=([0-9.]+)/g)) s.set(k!, (s.get(k!) ?? 0) + Number(v));
}
const mb = (s: Map<string, number>, k: string): string => ((s.get(k) ?? 0) / 1e6).toFixed(1);
for (const [key, s] of per) {
  const phases = [...s].filter(([k, v]) => v >= 5 && !NOT_A_PHASE.test(k) && k !== 'n').map(([k, v]) => `${k} ${v.toFixed(0)}`);
  console.log(`${key}: ${s.get('n')} GCs; allocated ${mb(s, 'allocated')} MB, survived ${mb(s, 'new_space_survived')} MB, promoted ${mb(s, 'promoted')} MB`);
  console.log(`  ms: ${phases.join(', ')}`);
}
