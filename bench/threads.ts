/**
 * Hookline's CPU by thread over a phase, from its own /metrics (hookline_thread_cpu_seconds_total):
 * the main (API) thread and, in split mode, the delivery thread; "other" is the rest of the
 * process (the WAL checkpointer, V8's GC helpers, libuv), from the process's CPU the meter read.
 * Without a profiler's overhead, per 1,000 deliveries: which half of the hot path a change moved.
 */
import type { CallApi } from './load.ts';
import { round } from './load.ts';

const LINE = /^hookline_thread_cpu_seconds_total\{thread="([^"]+)"\} ([\d.e+-]+)/gm;

/** CPU seconds per thread so far; empty when the process has no such metric (PostgreSQL roles have only "main") */
export async function threadCpu(api: CallApi): Promise<Record<string, number>> {
  try {
    const out: Record<string, number> = {};
    for (const m of (await api.text('/metrics')).matchAll(LINE)) out[m[1]!] = Number(m[2]);
    return out;
  } catch {
    return {};
  }
}

/** ms per 1,000 deliveries per thread between two readings, with `other` = processMs − the threads' */
export function perThousand(before: Record<string, number>, after: Record<string, number>, processMs: number, deliveries: number): Record<string, number> | null {
  if (deliveries <= 0 || !('delivery' in after)) return null;
  const out: Record<string, number> = {};
  let threads = 0;
  for (const [t, s] of Object.entries(after)) {
    const ms = (s - (before[t] ?? 0)) * 1000;
    threads += ms;
    out[t] = round((ms * 1000) / deliveries);
  }
  out.other = round((Math.max(0, processMs - threads) * 1000) / deliveries);
  return out;
}

export const formatThreads = (x: Record<string, number> | null | undefined): string =>
  x ? Object.entries(x).map(([t, v]) => `${t} ${v}`).join(', ') : '–';
