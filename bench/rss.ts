/**
 * Resident memory of the Hookline processes, sampled from outside while a phase runs: the peak
 * is what an operator would have to provision for. Read from /proc/<pid>/status (VmRSS) so a
 * busy event loop in the child cannot delay or skip a sample; elsewhere the child is asked.
 * The peak also holds garbage not yet collected, which grows with throughput; the V8 heap after
 * a full GC (heapAfterGc) is what the process really keeps, e.g. for a backlog.
 */
import { readFileSync } from 'node:fs';
import type { Child } from './ipc.ts';
import type { CallApi } from './load.ts';

const MB = 1024 * 1024;
const EVERY_MS = 250;

async function rssBytes(c: Child<unknown>): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: ask the process itself
  }
  return c.ask<number>('rss');
}

/** MB per process name, and their sum as `total` */
export type Rss = Record<string, number>;

export async function rssNow(children: Child<unknown>[]): Promise<Rss> {
  const each = await Promise.all(children.map(rssBytes));
  const out: Rss = {};
  children.forEach((c, i) => (out[c.name] = Math.round(each[i]! / MB)));
  out.total = Math.round(each.reduce((a, b) => a + b, 0) / MB);
  return out;
}

/**
 * Reads `read()` every EVERY_MS until stop(); stop() answers the peak of each key over the
 * readings (one more reading at the stop). A failed reading is skipped.
 */
function samplePeaks(read: () => Promise<Rss>): { stop(): Promise<Rss> } {
  const peak: Rss = {};
  const take = async () => {
    for (const [k, v] of Object.entries(await read())) peak[k] = Math.max(peak[k] ?? 0, v);
  };
  let running: Promise<void> = take().catch(() => undefined);
  const timer = setInterval(() => {
    running = running.then(take).catch(() => undefined);
  }, EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await take().catch(() => undefined);
      return peak;
    },
  };
}

/** Samples until stop(); stop() answers the peak per process (and of the total) over the samples. */
export function sampleRss(children: Child<unknown>[]): { stop(): Promise<Rss> } {
  return samplePeaks(() => rssNow(children));
}

/** MB of V8 heap in use after a full GC, per process and `total`: retained memory, not GC slack */
export async function heapAfterGc(children: Child<unknown>[]): Promise<Rss> {
  const each = await Promise.all(children.map((c) => c.ask<number>('heapAfterGc')));
  const out: Rss = {};
  children.forEach((c, i) => (out[c.name] = Math.round(each[i]! / MB)));
  out.total = Math.round(each.reduce((a, b) => a + b, 0) / MB);
  return out;
}

const HEAP_LINE = /^hookline_thread_heap_bytes\{thread="([^"]+)",kind="total"\} (\d+)/gm;

/**
 * Samples each thread's V8 heap (committed, from /metrics: hookline_thread_heap_bytes) until
 * stop(); answers the peak MB per thread. RSS says how much; this says which thread holds it.
 */
export function sampleThreadHeaps(api: CallApi): { stop(): Promise<Rss> } {
  return samplePeaks(async () => {
    const out: Rss = {};
    for (const m of (await api.text('/metrics')).matchAll(HEAP_LINE)) out[m[1]!] = Math.round(Number(m[2]) / MB);
    return out;
  });
}
