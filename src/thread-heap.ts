import { getHeapStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

/**
 * `hookline_thread_heap_bytes{thread, kind}`: the V8 heap of one thread, read at scrape time.
 * prom-client's `nodejs_heap_*` describe the main thread only; in split mode the delivery
 * thread has a heap of its own, and it holds the SQLite delivery queue (scheduler.ts: ~300
 * bytes per unsettled delivery with its ids), so a dead target's backlog shows here first.
 */
export function registerThreadHeap(registry: Registry, thread: string): void {
  new Gauge({
    name: 'hookline_thread_heap_bytes',
    help: 'V8 heap of a Hookline thread: used, and total (committed)',
    labelNames: ['thread', 'kind'],
    registers: [registry],
    collect() {
      const h = getHeapStatistics();
      this.set({ thread, kind: 'used' }, h.used_heap_size);
      this.set({ thread, kind: 'total' }, h.total_heap_size);
    },
  });
}
