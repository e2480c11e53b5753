import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ThreadStats {
  heap_used: number;
  heap_total: number;
  /** CPU this thread has used since it started, µs (user + system); null where Node cannot say */
  cpu_us: number | null;
}

/** this thread's V8 heap (in use, committed) and its CPU time */
export function threadStats(): ThreadStats {
  const h = getHeapStatistics();
  // process.threadCpuUsage is Node ≥ 23.9 (engines allow 22.13): without it, no per-thread CPU.
  const cpu = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : null;
  return { heap_used: h.used_heap_size, heap_total: h.total_heap_size, cpu_us: cpu === null ? null : cpu.user + cpu.system };
}

/**
 * Per thread, read at scrape time: `hookline_thread_heap_bytes{thread, kind}` (V8 heap used and
 * committed) and `hookline_thread_cpu_seconds_total{thread}`. prom-client's `nodejs_heap_*`
 * describe the main thread only, and process CPU lumps the threads together. In split mode the
 * delivery thread holds the SQLite delivery queue (scheduler.ts: ~300 bytes per unsettled
 * delivery with its ids), so a dead target's backlog shows in its heap; which thread is busy
 * says which half of the hot path a load costs (the bench reads both, bench/threads.ts).
 * Registered once, on the main thread (a family must appear once in /metrics): the other
 * threads are asked for theirs.
 */
export function registerThreadStats(registry: Registry, others: Record<string, () => Promise<ThreadStats>>): void {
  const read = async (): Promise<[string, ThreadStats][]> => {
    const all: [string, ThreadStats][] = [['main', threadStats()]];
    for (const [thread, ask] of Object.entries(others)) all.push([thread, await ask()]);
    return all;
  };
  new Gauge({
    name: 'hookline_thread_heap_bytes',
    help: 'V8 heap of each Hookline thread: used, and total (committed)',
    labelNames: ['thread', 'kind'],
    registers: [registry],
    async collect() {
      for (const [thread, s] of await read()) {
        this.set({ thread, kind: 'used' }, s.heap_used);
        this.set({ thread, kind: 'total' }, s.heap_total);
      }
    },
  });
  const seen = new Map<string, number>();
  new Counter({
    name: 'hookline_thread_cpu_seconds_total',
    help: 'CPU time (user + system) of each Hookline thread',
    labelNames: ['thread'],
    registers: [registry],
    async collect() {
      for (const [thread, s] of await read()) {
        if (s.cpu_us === null) continue;
        const delta = s.cpu_us - (seen.get(thread) ?? 0);
        seen.set(thread, s.cpu_us);
        if (delta > 0) this.inc({ thread }, delta / 1e6);
      }
    },
  });
}
