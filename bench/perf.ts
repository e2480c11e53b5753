/**
 * `npm run bench -- --perf`: Linux `perf` on the Hookline processes during workload (b)'s first
 * round, summarised by thread and by kind of work — SQLite, the kernel's network and file
 * paths, V8's GC, JSON, the JavaScript itself — which `--cpu-prof` cannot show (it sees
 * JavaScript frames only; native work is one opaque line under the function that called it).
 * Session 7 found the savepoint journal and the page cache's spills this way.
 *
 * Needs `perf` (Debian: `apt-get install linux-perf`) and permission to profile (root, or
 * `kernel.perf_event_paranoid` ≤ 1). JavaScript frames are named through `--perf-basic-prof`
 * (the bench adds it), which writes `/tmp/perf-<pid>.map` files and a V8 log per process
 * (sent to the temp dir, `hookline-v8-<pid>.log`, not the working directory).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export function perfAvailable(): string | null {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : '`perf` was not found (Debian: apt-get install linux-perf)';
}

/** Records the given processes (all their threads, with call graphs) until stop(). */
export function startPerf(pids: number[], file: string): { stop(): Promise<void> } {
  const p: ChildProcess = spawn('perf', ['record', '-F', '999', '-g', '-p', pids.join(','), '-o', file], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  return {
    stop: async () => {
      p.kill('SIGINT');
      await exited;
    },
  };
}

// First match wins; a symbol of a JIT map is JavaScript whatever its name says.
const KINDS: [string, RegExp][] = [
  ['SQLite', /^(sqlite3|pcache|btree|balance|vdbe|wal[A-Z]|pager|subjournal|getAndInitPage|insertCell|fillInCell|moveTo|unix[A-Z]|memjrnl|yy|lookaside|rebuildPage|editPage|decodeFlags|cellSize|allocateSpace|freeSpace|dropCell|accessPayload|pageFindSlot)/],
  ['node:sqlite binding', /node::sqlite/],
  ['GC', /Scaveng|MarkCompact|Heap::|Sweeper|Marking|Evacuat|GCTracer|MemoryAllocator|MemoryChunk|Minor|RememberedSet|SlotSet|LargeObject/],
  ['JSON', /Json/],
  ['thread messages', /ValueSerializer|ValueDeserializer|node::worker|MessagePort/],
  ['strings, UTF-8', /String::|Utf8|utf8|latin1|simdutf|StringTable|WriteToFlat/],
  ['crypto', /sha256|SHA256|HMAC|EVP_|ossl|OPENSSL/],
  ['malloc, memcpy', /^(malloc|free|cfree|_int_|__libc_|__mem|mem(cpy|move|set|cmp)|tcache|pthread_mutex)/],
  ['V8 runtime, builtins', /^(Builtins_|Runtime_|v8::)/],
];
const KERNEL: [string, RegExp][] = [
  ['kernel: network', /tcp|skb|sock|inet|ip_|net_|napi|loopback|__dev|sk_/],
  ['kernel: files, pages', /ext4|folio|filemap|iomap|jbd2|blk|block|page|copy_|vfs_|_iter/],
];

interface Thread {
  name: string;
  pct: number;
  kinds: Map<string, number>;
  syms: Map<string, number>;
}

/** perf report by thread and symbol, folded into kinds of work: one line per thread above 1 %. */
export function perfSummary(file: string): string {
  const out = execFileSync('perf', ['report', '-i', file, '--no-children', '-g', 'none', '--sort', 'pid,dso,sym', '--stdio'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  const threads = new Map<string, Thread>();
  // "  23.26%  16817:MainThread  node  [.] sqlite3VdbeExec" (perf's "pid" key is the thread; the dso may hold spaces: "[JIT] tid 16817")
  const line = /^\s+([\d.]+)%\s+(\d+:\S+)\s+(.+?)\s+\[(.)\]\s+(.*)$/;
  for (const l of out.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const pct = Number(m[1]);
    const [, , tid, dso, mode, sym] = m as unknown as [string, string, string, string, string, string];
    const t = threads.get(tid) ?? { name: tid, pct: 0, kinds: new Map(), syms: new Map() };
    threads.set(tid, t);
    t.pct += pct;
    let kind = 'other';
    if (mode === 'k') kind = KERNEL.find(([, re]) => re.test(sym))?.[0] ?? 'kernel: other';
    else if (dso.startsWith('[JIT]')) kind = 'JavaScript';
    else kind = KINDS.find(([, re]) => re.test(sym))?.[0] ?? 'other';
    t.kinds.set(kind, (t.kinds.get(kind) ?? 0) + pct);
    const short = sym.replace(/^JS:[*~^+']*/, '').slice(0, 70);
    t.syms.set(short, (t.syms.get(short) ?? 0) + pct);
  }
  const lines = ['perf (workload (b), first round): % of all samples by thread; within a thread, % of its samples'];
  for (const t of [...threads.values()].sort((a, b) => b.pct - a.pct)) {
    if (t.pct < 1) continue;
    const share = (x: number) => `${((x * 100) / t.pct).toFixed(1)} %`;
    lines.push(`  ${t.name.padEnd(24)} ${t.pct.toFixed(1)} %`);
    lines.push(`    ${[...t.kinds].sort((a, b) => b[1] - a[1]).filter(([, x]) => x / t.pct >= 0.01).map(([k, x]) => `${k} ${share(x)}`).join(', ')}`);
    lines.push(`    top: ${[...t.syms].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([s, x]) => `${s} ${share(x)}`).join('; ')}`);
  }
  return lines.join('\n');
}
