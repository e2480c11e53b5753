/**
 * The standard run (issue 10, "Throughput"), in one run on one receiver:
 *
 *   ceiling     raw undici POSTs of a real delivery body, 128 in flight  ┐ --repeat rounds
 *   peers       BullMQ on Redis; with --postgres also graphile-worker    │ (default 2), the
 *   (b)         switch events through batched POST /v1/call-events      ┘ best of each kept
 *   (a)         simulated calls through POST /v1/calls at full speed (5 events each)
 *   fixed rate  simulated calls at --rate events/s for --duration s: event→receipt percentiles
 *               and how long after the load's end the last event arrived
 *
 * Hookline's one native endpoint has the concurrency the peers' workers have (64). The phases
 * alternate between peers and Hookline (ceiling, BullMQ, (b), graphile-worker, (a), fixed rate)
 * so that a slow drift of the machine's other load does not favour one side.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CpuMeter } from './cpu.ts';
import { rawCeiling, round, type CeilingResult } from './load.ts';
import type { Opts } from './options.ts';
import { perfSummary, startPerf } from './perf.ts';
import { bullmqPeer, Bodies, graphilePeer, PEER_CONCURRENCY, type PeerOutcome, type PeerResult } from './peers.ts';
import {
  API_KEY, EVENTS_PER_CALL, fixedRatePhase, fullSpeedPhase, latenciesByWindow, log, prefix, waitForDeliveries, warmUp, type Stats,
} from './phase.ts';
import type { IsolationContext } from './isolation.ts';
import { sampleRss } from './rss.ts';
import { summarize } from './stats.ts';
import { BATCH_EVENTS, BATCHES_IN_FLIGHT, switchBatches, SWITCH_EVENTS_PER_CALL, WARMUP_EVENTS } from './switch.ts';
import { perThousand, threadCpu } from './threads.ts';

export const THROUGHPUT_TARGETS = {
  /** (b) on SQLite: ≥ the BullMQ peer and ≥ 50 % of the ceiling */
  switch_ratio_to_ceiling: 0.5,
  switch_ratio_to_bullmq: 1,
  /** (a) on SQLite: ≥ 35 % of the ceiling */
  calls_ratio_to_ceiling: 0.35,
  /** fixed rate: the last event within 1 s of the load's end; p99 below 25 ms (SQLite, 1,000 events/s) or 50 ms (PostgreSQL, 500 events/s) */
  last_after_end_ms: 1000,
  p99_ms: { sqlite: 25, postgres: 50 },
  /** PostgreSQL: (b) ≥ 50 % of graphile-worker */
  switch_ratio_to_graphile: 0.5,
};

/** Hookline's processes only (not this load generator, the receiver or a peer's worker) */
const isHookline = (name: string) => name !== 'parent' && name !== 'receiver';

type SwitchResult = Awaited<ReturnType<typeof switchPhase>>;
interface Round {
  ceiling: CeilingResult & { cpu_pct: Record<string, number> };
  peers: PeerOutcome[];
  /** ratio_to_ceiling: to this round's ceiling */
  switch_batches: SwitchResult & { ratio_to_ceiling: number };
}

/** Workload (b): `events` switch events in batches, then until they all arrived; with `perfFile`, under Linux perf. */
async function switchPhase(c: IsolationContext, phase: string, events: number, waitMs: number, perfFile?: string) {
  log(`${phase}: ${events} switch events in batches of ${BATCH_EVENTS} (${BATCH_EVENTS / SWITCH_EVENTS_PER_CALL} calls × ${SWITCH_EVENTS_PER_CALL}), ${BATCHES_IN_FLIGHT} requests in flight`);
  const rss = sampleRss(c.hl.children);
  const t0 = await threadCpu(c.api);
  const c0 = await c.meter.sample();
  const perf = perfFile === undefined ? null : startPerf(c.hl.children.map((h) => h.proc.pid!), perfFile);
  const load = await switchBatches(c.hl.api.info.url, API_KEY, phase, events);
  if (load.events_ok === 0) throw new Error(`${phase}: no event was accepted: ${load.first_error}`);
  const during = await c.rx.ask<Stats>('stats', { phase });
  const cLoad = await c.meter.sample();
  const st = await waitForDeliveries(c.rx, phase, load.events_ok, waitMs);
  await perf?.stop();
  const c1 = await c.meter.sample();
  const t1 = await threadCpu(c.api);
  const bySeq = new Map<number, number[]>();
  (st.latencies ?? []).forEach((ms, i) => {
    const seq = st.seqs?.[i] ?? 0;
    const g = bySeq.get(seq);
    if (g) g.push(ms);
    else bySeq.set(seq, [ms]);
  });
  return {
    load, expected: load.events_ok, received: st.distinct, duplicates: st.duplicates, out_of_order: st.out_of_order,
    deliveries_per_s: round(st.distinct / (Math.max(1, st.last_at - load.started_at) / 1000)),
    deliveries_per_s_during_load: round(during.distinct / (Math.max(1, load.ended_at - load.started_at) / 1000)),
    latency_ms: summarize(st.latencies ?? []),
    latency_ms_by_seq: Object.fromEntries([...bySeq].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), summarize(v)])),
    waited_ms: st.waited_ms,
    cpu_pct: { ...CpuMeter.pct(c0, cLoad), ...prefix('drain_', CpuMeter.pct(cLoad, c1)) },
    /** Hookline's processes and its PostgreSQL per 1,000 deliveries, as the peers' worker + store: a figure other load skews less */
    cpu_ms_per_1000: st.distinct > 0 ? round((CpuMeter.ms(c0, c1, isHookline, true) * 1000) / st.distinct) : null,
    /** the same by thread (split mode): main, delivery, other */
    cpu_ms_per_1000_by_thread: perThousand(t0, t1, CpuMeter.ms(c0, c1, isHookline, false), st.distinct),
    rss_mb_peak: await rss.stop(),
  };
}

const WINDOW_MS = 5_000;
/** a window in which the rest of the machine used at most this much of a core counts as quiet */
const QUIET_OTHERS_PCT = 30;

/** the CPU other processes used in each WINDOW_MS, sampled beside the fixed-rate phase */
function sampleOthers(meter: CpuMeter, everyMs: number): { stop(): Promise<number[]> } {
  let stopped = false;
  const done = (async () => {
    const out: number[] = [];
    let prev = await meter.sample();
    while (!stopped) {
      await new Promise((r) => setTimeout(r, everyMs));
      const next = await meter.sample();
      out.push(CpuMeter.pct(prev, next).others ?? 0);
      prev = next;
    }
    return out;
  })();
  return { stop: () => ((stopped = true), done) };
}

/**
 * The fixed rate's p99 per window of when the event happened, beside the other processes' CPU
 * in that window, and the p99 over the quiet windows only: on a shared machine, a reader can
 * tell Hookline's latency from the interference's. The verdict stays on the whole phase.
 */
function byWindow(st: Stats, t0: number, windows: number, others: number[]) {
  const groups = latenciesByWindow(st, t0, WINDOW_MS, windows);
  const quiet = groups.filter((_, w) => (others[w] ?? Infinity) <= QUIET_OTHERS_PCT);
  return {
    window_s: WINDOW_MS / 1000,
    p99_by_window_ms: groups.map((g) => summarize(g).p99),
    others_cpu_pct_by_window: others.slice(0, windows),
    quiet_windows: quiet.length,
    quiet_latency_ms: summarize(quiet.flat()),
    ...stalls(st, t0, (windows * WINDOW_MS) / STALL_BIN_MS),
  };
}

// A stall: half a second of events whose median latency passed 4 × the phase's median (and
// 20 ms). On PostgreSQL the fixed rate's tail came in such stalls (session 18: 3–6 a run, each
// during a VACUUM of the queue's table or a slow WAL sync), not spread over the phase; the share
// of the events above the phase's p99 that fell in one says which kind of tail a run has.
const STALL_BIN_MS = 500;
const STALL_MEDIAN_FACTOR = 4;
const STALL_MEDIAN_MIN_MS = 20;

function stalls(st: Stats, t0: number, bins: number) {
  const all = summarize(st.latencies ?? []);
  const bound = Math.max(STALL_MEDIAN_MIN_MS, STALL_MEDIAN_FACTOR * (all.p50 ?? 0));
  let stalled = 0;
  let tail = 0;
  let tailInStalls = 0;
  for (const g of latenciesByWindow(st, t0, STALL_BIN_MS, bins)) {
    const stall = (summarize(g).p50 ?? 0) > bound;
    if (stall) stalled += 1;
    for (const ms of g) {
      if (all.p99 === null || ms <= all.p99) continue;
      tail += 1;
      if (stall) tailInStalls += 1;
    }
  }
  return { stall_bin_s: STALL_BIN_MS / 1000, stall_median_bound_ms: bound, stalls: stalled, tail_in_stalls_pct: tail > 0 ? round((100 * tailInStalls) / tail) : null };
}

export async function throughput(c: IsolationContext, o: Opts, stamp: string) {
  const ep = await c.api.json('POST', '/v1/endpoints', { url: `${c.rx.info.url}/hook`, concurrency: PEER_CONCURRENCY, description: 'bench receiver' });
  if (ep.status !== 201) throw new Error(`creating the endpoint answered ${ep.status}: ${JSON.stringify(ep.body)}`);
  await warmUp(c);
  const warm = o.quick ? 1000 : WARMUP_EVENTS;
  // A (b) warm-up too: its first batches JIT the ingestion path, and its body is the one the
  // ceiling and the peers send (a switch call's delivery, ≈ 1 KB). WARMUP_EVENTS, not 5,000:
  // after 5,000 V8 was still compiling the hot path through round 1 — that round's (b) "other"
  // CPU (V8's helper threads) read 3–10 µs a delivery above round 2's in four runs of session
  // 27 (20.0/12.6, 21.4/18.1, 28.7/20.7, 22.2/12.2); with 25,000 the same in both (16.2/14.7,
  // 14.4/13.9). A running service compiled its hot path long ago: the rounds measure that.
  const wb = await switchPhase(c, 'warmup_b', warm, 30_000);
  const sample = (await c.rx.ask<Stats>('stats', { phase: 'warmup_b', samples: true })).sample;
  if (!sample || wb.received === 0) throw new Error('no switch event reached the receiver during the warm-up');
  const bodies = new Bodies(sample);
  const drainMs = o.quick ? 30_000 : 120_000;

  // Rounds of ceiling, BullMQ, (b), graphile-worker, and the best of each: other work on a shared
  // machine comes and goes within seconds, and the best of N is each side's figure with the
  // least of it (a ceiling measured while the machine was busy would flatter every ratio).
  const rounds: Round[] = [];
  for (let i = 1; i <= o.repeat; i++) {
    const tag = o.repeat > 1 ? `_${i}` : '';
    if (o.repeat > 1) log(`round ${i} of ${o.repeat}`);
    log(`raw undici ceiling (${o.ceilingS} s)`);
    const m0 = await c.meter.sample();
    const ceiling = await rawCeiling(c.rx.info.url, sample, o.ceilingS * 1000, undefined, `_${i}`);
    const ceilingCpu = CpuMeter.pct(m0, await c.meter.sample());
    const run = { bodies, events: o.events, warm, stamp, tag, waitMs: drainMs };
    const peers: PeerOutcome[] = [];
    if (o.peers) peers.push(await bullmqPeer(c.rx, run));
    const perfFile = o.perf && i === 1 ? path.join(tmpdir(), `hookline-perf-${stamp}.data`) : undefined;
    const sw = await switchPhase(c, `switch${tag}`, o.events, drainMs, perfFile);
    if (perfFile) {
      try {
        log(`${perfSummary(perfFile)}\n  (the recording: ${perfFile}; perf report -i it)`);
      } catch (err) {
        log(`--perf: no summary (${(err as Error).message.split('\n')[0]}); is profiling permitted here (kernel.perf_event_paranoid)?`);
      }
    }
    if (o.peers && o.postgres) peers.push(await graphilePeer(c.rx, run));
    rounds.push({ ceiling: { ...ceiling, cpu_pct: ceilingCpu }, peers, switch_batches: { ...sw, ratio_to_ceiling: round(sw.deliveries_per_s / ceiling.rps, 3) } });
  }
  const best = <T>(xs: T[], by: (x: T) => number): T => xs.reduce((a, b) => (by(b) > by(a) ? b : a));
  const ceiling = best(rounds.map((r) => r.ceiling), (x) => x.rps);
  const sw = best(rounds.map((r) => r.switch_batches), (x) => x.deliveries_per_s);
  const peers = rounds[0]!.peers.map((p0, k) => {
    const all = rounds.map((r) => r.peers[k]!);
    const ran = all.filter((p): p is PeerResult => !('skipped' in p));
    return ran.length === 0 ? p0 : best(ran, (p) => p.deliveries_per_s);
  });

  const rssFull = sampleRss(c.hl.children);
  const full = await fullSpeedPhase({ ...c, durationS: o.fullSpeedS }, 'full');
  const fullRss = await rssFull.stop();

  const rssRate = sampleRss(c.hl.children);
  const noise = sampleOthers(c.meter, WINDOW_MS);
  const { stats, ...rate } = await fixedRatePhase(c, 'rate', o.durationS * 1000, o.quick ? 15_000 : 60_000);
  const rateRss = await rssRate.stop();
  const windows = byWindow(stats, rate.load.started_at, Math.ceil((o.durationS * 1000) / WINDOW_MS), await noise.stop());
  // Kept pace: every event arrived, the last within a second of the last call sent.
  const lastAfterEnd = stats.last_at > 0 ? stats.last_at - rate.load.last_sent_at : null;

  return {
    bench_version: 2,
    endpoint: { format: 'standard', concurrency: PEER_CONCURRENCY },
    delivery_body_bytes: Buffer.byteLength(sample),
    /** ceiling, peers and (b): the best of the rounds (every round's figures are in `rounds`) */
    repeat: o.repeat,
    ceiling,
    peers,
    switch_batches: {
      events: o.events, batch_events: BATCH_EVENTS, in_flight: BATCHES_IN_FLIGHT, ...sw,
      ratio_to_ceiling: round(sw.deliveries_per_s / ceiling.rps, 3),
    },
    rounds,
    full_speed: {
      concurrency: o.concurrency, duration_s: o.fullSpeedS, ...full, rss_mb_peak: fullRss,
      ratio_to_ceiling: round(full.deliveries_per_s / ceiling.rps, 3),
    },
    fixed_rate: {
      events_per_s: o.rate, calls_per_s: o.rate / EVENTS_PER_CALL, duration_s: o.durationS, ...rate, rss_mb_peak: rateRss,
      last_receipt_after_load_end_ms: lastAfterEnd,
      ...windows,
    },
    targets: THROUGHPUT_TARGETS,
    unparsable: (await c.rx.ask<{ unparsable: number }>('stats', { phase: 'full' })).unparsable,
  };
}

export type ThroughputResults = Awaited<ReturnType<typeof throughput>>;
