/**
 * What every bench mode shares: waiting for a phase's deliveries at the receiver and turning
 * its samples into a phase's figures (deliveries/s, event→receipt percentiles).
 */
import { CpuMeter } from './cpu.ts';
import type { Child } from './ipc.ts';
import { fixedRate, fullSpeed, round, type CallApi, type LoadResult } from './load.ts';
import { summarize, type Summary } from './stats.ts';
import { perThousand, threadCpu } from './threads.ts';

export const EVENTS_PER_CALL = 5; // call.accepted, leg.initiated, leg.ringing, leg.answered, call.ended
export const API_KEY = 'hk_bench_key_not_secret';
const MAX_FULL_SPEED_CALLS = 20_000; // bounds the backlog (100 000 deliveries) whatever the machine
const STALL_MS = 10_000; // no new delivery for this long: stop waiting, report what is missing

export const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Stats {
  count: number; distinct: number; duplicates: number; out_of_order: number; unparsable: number; first_at: number; last_at: number; avg_bytes: number;
  latencies?: number[]; seqs?: number[];
  /** Date.now() at the receipt of each latency sample */
  ats?: number[];
  sample?: string;
}

/** Polls the receiver until `expected` distinct deliveries of `phase` arrived, it stalls, or time is up. */
export async function waitForDeliveries(rx: Child<unknown>, phase: string, expected: number, timeoutMs: number): Promise<Stats & { waited_ms: number }> {
  const t0 = Date.now();
  let last = -1;
  let lastChange = t0;
  for (;;) {
    const s = await rx.ask<Stats>('stats', { phase });
    if (s.distinct !== last) [last, lastChange] = [s.distinct, Date.now()];
    if (s.distinct >= expected) break;
    if (Date.now() - t0 > timeoutMs || Date.now() - lastChange > STALL_MS) {
      log(`${phase}: gave up waiting with ${s.distinct} of ${expected} deliveries`);
      break;
    }
    await sleep(100);
  }
  return { ...(await rx.ask<Stats>('stats', { phase, samples: true })), waited_ms: Date.now() - t0 };
}

export interface PhaseResult {
  load: LoadResult;
  expected: number;
  received: number;
  duplicates: number;
  out_of_order: number;
  /** deliveries received ÷ (last receipt − first call sent) */
  deliveries_per_s: number;
  /** full speed: deliveries received while calls were still being placed, per second of that window */
  deliveries_per_s_during_load?: number;
  /** full speed: CPU ms of the Hookline processes (PostgreSQL's not included) per 1,000 deliveries, load and drain */
  hookline_cpu_ms_per_1000?: number | null;
  /** the same with PostgreSQL's CPU (equal on SQLite) */
  cpu_ms_per_1000?: number | null;
  /** Hookline's by thread (split mode): main, delivery, other (bench/threads.ts) */
  cpu_ms_per_1000_by_thread?: Record<string, number> | null;
  latency_ms: Summary;
  /** the same by the event's seq in its call (1 = call.accepted … 5 = call.ended) */
  latency_ms_by_seq: Record<string, Summary>;
  waited_ms: number;
  cpu_pct: Record<string, number>;
}

export function phaseResult(load: LoadResult, s: Stats & { waited_ms: number }, cpu: Record<string, number>): PhaseResult {
  const windowS = Math.max(1, s.last_at - load.started_at) / 1000;
  return {
    load, expected: load.calls_ok * EVENTS_PER_CALL, received: s.distinct, duplicates: s.duplicates, out_of_order: s.out_of_order,
    deliveries_per_s: round(s.distinct / windowS), latency_ms: summarize(s.latencies ?? []), latency_ms_by_seq: bySeq(s), waited_ms: s.waited_ms, cpu_pct: cpu,
  };
}

function bySeq(s: Stats): Record<string, Summary> {
  const groups = new Map<number, number[]>();
  (s.latencies ?? []).forEach((ms, i) => {
    const seq = s.seqs?.[i] ?? 0;
    const g = groups.get(seq);
    if (g) g.push(ms);
    else groups.set(seq, [ms]);
  });
  return Object.fromEntries([...groups].sort((a, b) => a[0] - b[0]).map(([seq, v]) => [String(seq), summarize(v)]));
}

/**
 * Latency by when the event happened, in windows of `windowMs` from `t0`: a backlog that grows
 * during a phase shows as a p99 that climbs from one window to the next.
 */
export function latencyByWindow(s: Stats, t0: number, windowMs: number, windows: number): Summary[] {
  return latenciesByWindow(s, t0, windowMs, windows).map((g) => summarize(g));
}

/** The latencies themselves, grouped as latencyByWindow summarizes them. */
export function latenciesByWindow(s: Stats, t0: number, windowMs: number, windows: number): number[][] {
  const groups: number[][] = Array.from({ length: windows }, () => []);
  (s.latencies ?? []).forEach((ms, i) => {
    const occurred = (s.ats?.[i] ?? t0) - ms;
    // The last calls of a phase may be answered a little after its nominal end: last window.
    const w = Math.min(windows - 1, Math.max(0, Math.floor((occurred - t0) / windowMs)));
    groups[w]!.push(ms);
  });
  return groups;
}

export const prefix = (p: string, o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]));

/** What a mode needs to place load and watch it arrive. */
export interface BenchContext {
  rx: Child<{ url: string }>;
  api: CallApi;
  meter: CpuMeter;
  durationS: number;
  rate: number;
  concurrency: number;
  quick: boolean;
}

/**
 * JIT, database caches and pooled sockets warm; answers a real delivery body (the ceiling sends
 * it). 1,000 calls (5,000 events), not 40: the engine's and the API's call paths compiled before
 * any phase measures them (workload (b) has a warm-up of its own, throughput.ts).
 */
export async function warmUp(c: BenchContext, phase = 'warmup'): Promise<Stats> {
  log(phase);
  const warm = await fullSpeed(c.api, phase, 8, 60_000, 1000);
  if (warm.calls_ok === 0) throw new Error(`no call was accepted: ${warm.first_error}`);
  const ws = await waitForDeliveries(c.rx, phase, warm.calls_ok * EVENTS_PER_CALL, 20_000);
  if (!ws.sample) throw new Error('no delivery reached the receiver during the warm-up');
  return ws;
}

/** Open-loop calls at `c.rate` events/s for `durationMs`, then until their deliveries arrived. */
export async function fixedRatePhase(c: BenchContext, phase: string, durationMs = c.durationS * 1000, waitMs = c.quick ? 15_000 : 30_000): Promise<PhaseResult & { stats: Stats }> {
  const callsPerS = c.rate / EVENTS_PER_CALL;
  log(`${phase}: ${c.rate} events/s (${callsPerS} calls/s) for ${durationMs / 1000} s`);
  const c0 = await c.meter.sample();
  const rl = await fixedRate(c.api, phase, callsPerS, durationMs);
  const rs = await waitForDeliveries(c.rx, phase, rl.calls_ok * EVENTS_PER_CALL, waitMs);
  return { ...phaseResult(rl, rs, CpuMeter.pct(c0, await c.meter.sample())), stats: rs };
}

/** Closed-loop calls (`c.concurrency` in flight) for the phase's duration, then the drain. */
export async function fullSpeedPhase(c: BenchContext, phase: string): Promise<PhaseResult> {
  log(`${phase}: full speed, ${c.concurrency} API requests in flight for ${c.durationS} s`);
  const t0 = await threadCpu(c.api);
  const c0 = await c.meter.sample();
  const fl = await fullSpeed(c.api, phase, c.concurrency, c.durationS * 1000, MAX_FULL_SPEED_CALLS);
  const during = await c.rx.ask<Stats>('stats', { phase });
  const cLoad = await c.meter.sample();
  log(`${phase}: ${fl.calls_ok} calls accepted; ${during.distinct} of ${fl.calls_ok * EVENTS_PER_CALL} deliveries so far, waiting for the rest`);
  const fs = await waitForDeliveries(c.rx, phase, fl.calls_ok * EVENTS_PER_CALL, c.quick ? 30_000 : 120_000);
  const c1 = await c.meter.sample();
  const r = phaseResult(fl, fs, { ...CpuMeter.pct(c0, cLoad), ...prefix('drain_', CpuMeter.pct(cLoad, c1)) });
  r.deliveries_per_s_during_load = round(during.distinct / (Math.max(1, fl.ended_at - fl.started_at) / 1000));
  // CPU the Hookline processes spent per delivery: a process that other work on the machine
  // starves of CPU delivers fewer per second but spends about the same per delivery, so this
  // compares across phases on a noisy machine far better than deliveries/s.
  const isHookline = (k: string) => k !== 'parent' && k !== 'receiver';
  r.hookline_cpu_ms_per_1000 = fs.distinct > 0 ? round((CpuMeter.ms(c0, c1, isHookline, false) * 1000) / fs.distinct) : null;
  // with PostgreSQL's CPU too: what the peers' worker + store figure compares with
  r.cpu_ms_per_1000 = fs.distinct > 0 ? round((CpuMeter.ms(c0, c1, isHookline, true) * 1000) / fs.distinct) : null;
  r.cpu_ms_per_1000_by_thread = perThousand(t0, await threadCpu(c.api), CpuMeter.ms(c0, c1, isHookline, false), fs.distinct);
  return r;
}
