import { getHeapStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

export interface HeapUse {
  used: number;
  total: number;
}

/** this thread's V8 heap: in use, and committed */
export function heapUse(): HeapUse {
  const h = getHeapStatistics();
  return { used: h.used_heap_size, total: h.total_heap_size };
}

/**
 * `hookline_thread_heap_bytes{thread, kind}`: each thread's V8 heap, read at scrape time.
 * prom-client's `nodejs_heap_*` describe the main thread only; in split mode the delivery
 * thread has a heap of its own, and it holds the SQLite delivery queue (scheduler.ts: ~300
 * bytes per unsettled delivery with its ids), so a dead target's backlog shows here first.
 * Registered once, on the main thread (a family must appear once in /metrics): the other
 * threads are asked for theirs.
 */
export function registerThreadHeap(registry: Registry, others: Record<string, () => Promise<HeapUse>>): void {
  new Gauge({
    name: 'hookline_thread_heap_bytes',
    help: 'V8 heap of each Hookline thread: used, and total (committed)',
    labelNames: ['thread', 'kind'],
    registers: [registry],
    async collect() {
      const all: [string, HeapUse][] = [['main', heapUse()]];
      for (const [thread, ask] of Object.entries(others)) all.push([thread, await ask()]);
      for (const [thread, h] of all) {
        this.set({ thread, kind: 'used' }, h.used);
        this.set({ thread, kind: 'total' }, h.total);
      }
    },
  });
}
