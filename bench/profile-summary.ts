/**
 * Where a process spent its CPU: reads a V8 .cpuprofile (node --cpu-prof) and prints the top
 * functions by self time, aggregated over every stack they appeared in (a function is its name,
 * file and line), then the same self time grouped by area (our src/, each npm package, Node's
 * internals, GC). Busy % leaves out (idle), so it reads as "share of the work".
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [--top N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Row { name: string; where: string; area: string; self_ms: number }
export interface ProfileSummary {
  file: string;
  total_ms: number;
  idle_ms: number;
  rows: Row[];
  /** per function (name + file:line): its self time split by the function that called it */
  callers: Map<string, Map<string, number>>;
}

const label = (f: ProfileNode['callFrame']) => `${f.functionName || '(anonymous)'}${f.url ? ` (${shortUrl(f.url)}:${f.lineNumber + 1})` : ''}`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The source a frame belongs to: src/…, an npm package, node: internals, or a V8 pseudo-frame. */
function areaOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? file);
  }
  const rel = path.relative(ROOT, file);
  return rel.startsWith('..') ? file : rel.split(path.sep).slice(0, 2).join('/');
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length);
  const rel = path.relative(ROOT, file);
  return rel.startsWith('..') ? file : rel;
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // timeDeltas[i] is the gap before sample i: the time until the next sample belongs to sample i.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const rows = new Map<string, Row>();
  const callers = new Map<string, Map<string, number>>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const key = `${name}\0${url}\0${lineNumber}`;
    const ms = us / 1000;
    total += ms;
    if (name === '(idle)') idle += ms;
    const row = rows.get(key);
    if (row) row.self_ms += ms;
    else rows.set(key, { name, where: url ? `${shortUrl(url)}:${lineNumber + 1}` : '', area: areaOf(url, name), self_ms: ms });
    // A store helper's self time means little until we know which query paid it: keep the caller.
    const self = label(byId.get(id)!.callFrame);
    const up = parent.get(id);
    const by = callers.get(self) ?? new Map<string, number>();
    callers.set(self, by);
    const caller = up ? label(up.callFrame) : '(root)';
    by.set(caller, (by.get(caller) ?? 0) + ms);
  }
  return { file, total_ms: total, idle_ms: idle, rows: [...rows.values()].sort((a, b) => b.self_ms - a.self_ms), callers };
}

export function printTop(s: ProfileSummary, top = 25): void {
  const busy = s.total_ms - s.idle_ms;
  const pct = (ms: number) => `${((100 * ms) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)} %`;
  console.log(`\n${path.basename(s.file)}: ${(s.total_ms / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (${((100 * busy) / Math.max(s.total_ms, 1e-9)).toFixed(0)} %)`);
  console.log(`\n  top ${top} functions by self time (% of busy time)`);
  console.log(`  ${'self ms'.padStart(9)}  ${'busy'.padStart(7)}  function  (file:line)`);
  for (const r of s.rows.filter((x) => x.name !== '(idle)').slice(0, top)) {
    console.log(`  ${r.self_ms.toFixed(0).padStart(9)}  ${pct(r.self_ms)}  ${r.name}  ${r.where ? `(${r.where})` : ''}`);
  }
  const areas = new Map<string, number>();
  for (const r of s.rows) if (r.name !== '(idle)') areas.set(r.area, (areas.get(r.area) ?? 0) + r.self_ms);
  console.log('\n  self time by area');
  for (const [area, ms] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${ms.toFixed(0).padStart(9)}  ${pct(ms)}  ${area}`);
  }
  console.log('\n  the top 5 functions by caller (self ms)');
  for (const r of s.rows.filter((x) => x.name !== '(idle)').slice(0, 5)) {
    const self = `${r.name}${r.where ? ` (${r.where})` : ''}`;
    console.log(`  ${self}`);
    for (const [caller, ms] of [...(s.callers.get(self) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
      console.log(`    ${ms.toFixed(0).padStart(9)}  ← ${caller}`);
    }
  }
  console.log('');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  if (positionals.length === 0) {
    console.error('usage: node bench/profile-summary.ts <file.cpuprofile>… [--top N]');
    process.exit(2);
  }
  for (const f of positionals) printTop(summarizeProfile(f), Number(values.top ?? 25));
}
