/**
 * `node bench/alloc-summary.ts <profile.json>... [--top N]`: the functions that allocated the
 * most in allocation-sampling profiles written by bench/alloc-sample.ts (self bytes, garbage
 * included), per file given.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children?: Node[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
const top = Number(values.top ?? 20);
for (const file of positionals) {
  const bytes = new Map<string, number>();
  let total = 0;
  const walk = (n: Node): void => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'}  (${f.url.replace(/^.*\/(src|node_modules|bench)\//, '$1/') || 'native'}:${f.lineNumber + 1})`;
    if (n.selfSize > 0) {
      bytes.set(key, (bytes.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk((JSON.parse(readFileSync(file, 'utf8')) as { head: Node }).head);
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} MB allocated (sampled)`);
  for (const [k, v] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${(v / 1e6).toFixed(1).padStart(8)} MB  ${(v / total * 100).toFixed(1).padStart(5)} %  ${k}`);
}
