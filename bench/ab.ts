/**
 * `node bench/ab.ts <rev> [--pairs N] [-- bench args]`: this checkout against another revision,
 * in alternating short bench runs on the same machine in the same hour, and the per-pair
 * differences of what each run measured.
 *
 * Why: this machine's ceiling (and everything else) moves ±40 % between runs, so two runs an
 * hour apart say little about a change; runs that alternate (A B, B A, A B …) see the same
 * weather, and CPU per 1,000 deliveries by thread moves far less than the ratios do. Each run is
 * `bench/run.ts --repeat 1 --no-peers --duration 5` plus the args after `--`, in its own tree
 * (the other revision in a temporary `git worktree` sharing this one's node_modules and dist),
 * and its figures are read back from the results JSON it writes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const here = path.resolve(import.meta.dirname, '..');
const dash = process.argv.indexOf('--');
const own = dash === -1 ? process.argv.slice(2) : process.argv.slice(2, dash);
const benchArgs = dash === -1 ? [] : process.argv.slice(dash + 1);
const { values, positionals } = parseArgs({ args: own, allowPositionals: true, options: { pairs: { type: 'string' }, 'this-args': { type: 'string' }, together: { type: 'boolean' } } });
// --together: both sides of a pair run at the same time, sharing the machine's weather (its
// speed moves ±40 % within minutes, so alternating runs of the same code differ by ±15 ms of CPU
// per 1,000 deliveries). Each then has about half the machine: compare CPU per 1,000
// deliveries, not deliveries/s against a ceiling measured under the other's load.
const together = values.together === true;
// Bench args for this checkout's runs only (e.g. `--this-args=--node-args=--max-semi-space-size=64`
// against the same revision): a flag measured the same way as a change.
const thisArgs = values['this-args']?.split(' ').filter((a) => a !== '') ?? [];
const rev = positionals[0];
if (!rev) {
  console.error('usage: node bench/ab.ts <rev> [--pairs N] [-- bench args]');
  process.exit(2);
}
const pairs = Number(values.pairs ?? 3);

interface Figures {
  ceiling: number;
  b: number;
  bRatio: number;
  a: number;
  aRatio: number;
  /** CPU ms per 1,000 deliveries: total, main, delivery, other */
  bCpu: number[];
  aCpu: number[];
}

function newestResult(tree: string): string | undefined {
  const dir = path.join(tree, '.bench');
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.startsWith('results-') && f.endsWith('.json')).sort();
  return files.length > 0 ? path.join(dir, files[files.length - 1]!) : undefined;
}

function cpuOf(phase: Record<string, unknown> | undefined): number[] {
  const t = (phase?.cpu_ms_per_1000_by_thread ?? {}) as Record<string, number>;
  return [Number(phase?.cpu_ms_per_1000 ?? NaN), t.main ?? NaN, t.delivery ?? NaN, t.other ?? NaN];
}

async function run(tree: string, extra: string[] = []): Promise<Figures> {
  const before = newestResult(tree);
  const child = spawn(process.execPath, ['bench/run.ts', '--repeat', '1', '--no-peers', '--duration', '5', ...benchArgs, ...extra], { cwd: tree, stdio: ['ignore', 'ignore', 'inherit'] });
  const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const file = newestResult(tree);
  if (status !== 0 || !file || file === before) throw new Error(`the bench in ${tree} failed (exit ${status})`);
  const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> & { ceiling: { rps: number } }>;
  const b = j.switch_batches as Record<string, unknown>;
  const a = j.full_speed as Record<string, unknown>;
  return {
    ceiling: Number(j.ceiling?.rps), b: Number(b.deliveries_per_s), bRatio: Number(b.ratio_to_ceiling),
    a: Number(a.deliveries_per_s), aRatio: Number(a.ratio_to_ceiling), bCpu: cpuOf(b), aCpu: cpuOf(a),
  };
}

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const row = (side: string, f: Figures): string => [
  side.padEnd(6), fmt(f.ceiling, 0).padStart(7), fmt(f.b, 0).padStart(7), `${fmt(100 * f.bRatio)} %`.padStart(7),
  fmt(f.a, 0).padStart(7), `${fmt(100 * f.aRatio)} %`.padStart(7), f.bCpu.map((x) => fmt(x)).join(' / ').padStart(26),
  f.aCpu.map((x) => fmt(x)).join(' / ').padStart(26),
].join('  ');
const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

const other = mkdtempSync(path.join(tmpdir(), 'hookline-ab-'));
const tree = path.join(other, 'tree');
execFileSync('git', ['worktree', 'add', '--detach', tree, rev], { cwd: here, stdio: 'ignore' });
try {
  for (const shared of ['node_modules', 'dist']) if (existsSync(path.join(here, shared))) symlinkSync(path.join(here, shared), path.join(tree, shared));
  console.log(`this checkout against ${rev}: ${pairs} pairs${together ? ' (each pair at the same time)' : ''} of \`bench/run.ts --repeat 1 --no-peers --duration 5 ${benchArgs.join(' ')}\`, alternating`);
  console.log(`${'side'.padEnd(6)}  ceiling  (b) /s  (b) ÷ c  (a) /s  (a) ÷ c  (b) CPU total/main/delivery/other  (a) CPU total/main/delivery/other`);
  const diffs: number[][] = [];
  for (let i = 0; i < pairs; i++) {
    // A B, then B A: neither side always runs second.
    const order = i % 2 === 0 ? ['this', rev] : [rev, 'this'];
    const got: Record<string, Figures> = {};
    const runSide = (side: string): Promise<Figures> => (side === 'this' ? run(here, thisArgs) : run(tree));
    if (together) {
      // Both settle before a failure is thrown: the worktree is removed only once neither runs in it.
      const settled = await Promise.allSettled(order.map((side) => runSide(side)));
      for (const [k, r] of settled.entries()) {
        if (r.status === 'rejected') throw r.reason;
        got[order[k]!] = r.value;
      }
      for (const side of order) console.log(row(side === 'this' ? 'this' : 'that', got[side]!));
    } else {
      for (const side of order) {
        got[side] = await runSide(side);
        console.log(row(side === 'this' ? 'this' : 'that', got[side]!));
      }
    }
    const t = got.this!;
    const o = got[rev]!;
    diffs.push([t.bRatio - o.bRatio, t.aRatio - o.aRatio, ...t.bCpu.map((x, k) => x - o.bCpu[k]!), ...t.aCpu.map((x, k) => x - o.aCpu[k]!)]);
  }
  const m = (k: number): number => median(diffs.map((d) => d[k]!));
  console.log(`median of the pairs' differences (this − that): (b) ÷ ceiling ${fmt(100 * m(0))} points, (a) ${fmt(100 * m(1))} points;`);
  console.log(`  CPU ms per 1,000 deliveries (b) ${[2, 3, 4, 5].map((k) => fmt(m(k))).join(' / ')}, (a) ${[6, 7, 8, 9].map((k) => fmt(m(k))).join(' / ')} (total / main / delivery / other)`);
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: here, stdio: 'ignore' });
  rmSync(other, { recursive: true, force: true });
}
