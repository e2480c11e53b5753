/**
 * Isolation runs (issue 9; issue 10 item 5): does a bad target cost a healthy one?
 *
 *   --bad-targets  healthy endpoint's event→receipt latency at a fixed rate, without and then
 *                  with a hanging and a 500-answering endpoint taking every event too
 *   --backlog N    healthy endpoint's full-speed deliveries/s and Hookline's RSS, without and
 *                  then with N due deliveries waiting for a hanging endpoint
 *
 * Both run "without" first, then "with", on one database in one run: the phases share the
 * database file and the machine's moment, so the difference is the bad targets (a second run
 * would add the machine's ±40 % drift). --bad-targets keeps one Hookline process throughout, so
 * both phases also share its warm JIT and caches; --backlog restarts it (see backlog()). The
 * price is that "with" runs on a database that also holds "without"'s delivered rows; those are
 * not due, so a claim does not walk them.
 */
import type { CallApi } from './load.ts';
import { round } from './load.ts';
import {
  fixedRatePhase, fullSpeedPhase, latencyByWindow, log, warmUp, type BenchContext, type PhaseResult,
} from './phase.ts';
import { queueCounts, type QueueCounts } from './queue.ts';
import { heapAfterGc, rssNow, sampleRss, sampleThreadHeaps, type Rss } from './rss.ts';
import type { Topology } from './topology.ts';

export const ISOLATION_TARGETS = { p99_ratio: 2, slowdown_pct: 20, rss_growth_mb: 100 };
const HEALTHY_CONCURRENCY = 128; // as in the standard run, so "without" matches its figures

export interface IsolationContext extends BenchContext {
  hl: Topology;
  dataDir: string;
  /** hl.restart(), then `api` and `meter` point at the new processes */
  restart(apiOnly: boolean): Promise<void>;
}

async function createEndpoint(api: CallApi, body: Record<string, unknown>): Promise<string> {
  const ep = await api.json('POST', '/v1/endpoints', body);
  if (ep.status !== 201) throw new Error(`creating endpoint ${JSON.stringify(body)} answered ${ep.status}: ${JSON.stringify(ep.body)}`);
  return ep.body.id as string;
}

const counts = (c: IsolationContext, targets: string[]) =>
  queueCounts(c.hl.database ? { postgresUrl: c.hl.database.url } : { sqliteDir: c.dataDir }, targets);

const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b, 2));

// ---- --bad-targets ----------------------------------------------------------------------------

type RatePhase = PhaseResult & { window_s: number; p99_by_window_ms: (number | null)[] };

async function ratePhase(c: IsolationContext, phase: string): Promise<RatePhase> {
  // With the bad targets the healthy drain may take seconds per event: wait long enough to count them.
  const { stats, ...r } = await fixedRatePhase(c, phase, c.durationS * 1000, 60_000);
  const windowMs = (c.durationS * 1000) / 5;
  return { ...r, window_s: windowMs / 1000, p99_by_window_ms: latencyByWindow(stats, r.load.started_at, windowMs, 5).map((s) => s.p99) };
}

export async function badTargets(c: IsolationContext) {
  const healthy = await createEndpoint(c.api, { url: `${c.rx.info.url}/hook`, concurrency: HEALTHY_CONCURRENCY, description: 'healthy' });
  await warmUp(c);
  // A few seconds at the measured rate first: the first phase must not pay for a colder process.
  await fixedRatePhase(c, 'settle', (c.quick ? 1 : 3) * 1000);

  const without = await ratePhase(c, 'iso_without');

  // No events or filters given: both take every event of the account, as the healthy one does.
  // Default timeouts (15 s) and concurrency (16): a target as a customer would configure it.
  const hanging = await createEndpoint(c.api, { url: `${c.rx.info.url}/hang`, description: 'never answers' });
  const failing = await createEndpoint(c.api, { url: `${c.rx.info.url}/fail`, description: 'answers 500' });
  const ids = { healthy, hanging, failing };
  log('added an endpoint that never answers and one that answers 500');
  const withBad = await ratePhase(c, 'iso_with');
  const queue = await counts(c, Object.values(ids));
  const named = (q: Record<string, QueueCounts> | null) => q && Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, q[id]]));
  const got = async (kind: string) => (await c.rx.ask<{ count: number }>('stats', { phase: `${kind}:iso_with` })).count;

  return {
    events_per_s: c.rate,
    duration_s: c.durationS,
    endpoints: {
      healthy: { path: '/hook', concurrency: HEALTHY_CONCURRENCY },
      hanging: { path: '/hang', concurrency: 'default (16)', timeout_ms: 'default (15000)' },
      failing: { path: '/fail', answers: 500, concurrency: 'default (16)' },
    },
    without,
    with: withBad,
    bad_targets: {
      requests_to_failing: await got('fail'),
      requests_to_hanging: await got('hang'),
      hanging_requests_open: await c.rx.ask<number>('hanging'),
      /** deliveries per target and state once the healthy target's had all arrived */
      queue_after: named(queue),
    },
    ratio_with_to_without: {
      p50: ratio(withBad.latency_ms.p50, without.latency_ms.p50),
      p95: ratio(withBad.latency_ms.p95, without.latency_ms.p95),
      p99: ratio(withBad.latency_ms.p99, without.latency_ms.p99),
    },
  };
}

// ---- --backlog ----------------------------------------------------------------------------------

/** N first events of N external inbound calls: one due delivery each for the hanging endpoint. */
async function buildBacklog(c: IsolationContext, n: number): Promise<{ requests: number; failed: number; first_error: string | null; seconds: number; per_s: number }> {
  const t0 = performance.now();
  const run = Date.now().toString(36);
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  let lastLog = t0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      // Each event its own call: a call's later events wait ('queued') behind its first, and only
      // due rows are what a claim has to walk past.
      const err = await c.api.post('/v1/call-events', JSON.stringify({
        event_id: `bl_${run}_${i}`, call_id: `bl_${run}_${i}`, type: 'call.accepted', direction: 'inbound',
        from: '+15550100003', to: '+15550100004', metadata: { bench_phase: 'backlog' },
      }));
      if (err !== null) {
        failed += 1;
        firstError ??= err;
        if (failed > 100 && failed > next / 10) throw new Error(`building the backlog: ${failed} of ${next} events refused, first: ${firstError}`);
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`backlog: ${next - failed} of ${n} events (${round((next * 1000) / (lastLog - t0), 0)}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { requests: n, failed, first_error: firstError, seconds: round(seconds), per_s: round((n - failed) / seconds, 0) };
}

async function measuredFullSpeed(c: IsolationContext, phase: string): Promise<PhaseResult & { rss_mb_peak: Rss; heap_mb_after_gc: Rss; thread_heap_mb_peak: Rss }> {
  const rss = sampleRss(c.hl.children);
  const heaps = sampleThreadHeaps(c.api);
  const r = await fullSpeedPhase(c, phase);
  return { ...r, rss_mb_peak: await rss.stop(), thread_heap_mb_peak: await heaps.stop(), heap_mb_after_gc: await heapAfterGc(c.hl.children) };
}

/** warm-up and a few seconds at full speed: a measured phase must not pay for a colder process */
async function settle(c: IsolationContext, name: string): Promise<void> {
  await warmUp(c, `${name}_warmup`);
  await fullSpeedPhase({ ...c, durationS: c.quick ? 1 : 3 }, `${name}_settle`);
}

/**
 * Three Hookline processes on one database, one after the other:
 *   1. warm-up, settle, "without" at full speed (RSS sampled);
 *   2. an API-only process (claims nothing) takes N events that make the backlog;
 *   3. warm-up, settle, "with" at full speed (RSS sampled), the backlog due all along.
 * The backlog is written by an API-only process because a dispatcher that walks the whole due
 * backlog on every claim (the problem measured here) makes building it quadratic: 100,000 took
 * six minutes that way. Processes 1 and 3 do the same steps, so their figures compare.
 */
export async function backlog(c: IsolationContext, n: number) {
  // The healthy endpoint takes the outbound calls the load places, the hanging one the inbound
  // calls that build the backlog: "with" then delivers exactly what "without" did, plus nothing
  // but the backlog's presence (new deliveries for the hanging target would double the writes).
  const healthy = await createEndpoint(c.api, {
    url: `${c.rx.info.url}/hook`, concurrency: HEALTHY_CONCURRENCY, filters: { direction: ['outbound'] }, description: 'healthy',
  });
  // Never answers: its 16 slots hang for its 15 s timeout, so nearly all of its deliveries stay
  // due the whole time (a refused connection would fail at once and leave them waiting for retries).
  const hanging = await createEndpoint(c.api, {
    url: `${c.rx.info.url}/hang`, filters: { direction: ['inbound'] }, description: 'never answers (backlog)',
  });
  await settle(c, 'bl_without');
  const rssWithout = await rssNow(c.hl.children);
  const without = await measuredFullSpeed(c, 'bl_without');

  await c.restart(true);
  log(`backlog: ${n} events for an endpoint that never answers, ${c.concurrency} requests in flight`);
  const build = await buildBacklog(c, n);
  const before = await counts(c, [healthy, hanging]);
  log(`backlog: built in ${build.seconds} s (${build.per_s}/s); due for the hanging endpoint: ${before?.[hanging]?.due ?? '?'}`);

  await c.restart(false);
  await settle(c, 'bl_with');
  const rssWith = await rssNow(c.hl.children);
  const withBacklog = await measuredFullSpeed(c, 'bl_with');
  const after = await counts(c, [healthy, hanging]);
  return {
    backlog_requested: n,
    build,
    backlog_before: before?.[hanging] ?? null,
    backlog_after: after?.[hanging] ?? null,
    healthy_after: after?.[healthy] ?? null,
    hanging_requests_open: await c.rx.ask<number>('hanging'),
    rss_mb_before: { without: rssWithout, with: rssWith },
    without,
    with: withBacklog,
    slowdown_pct: without.deliveries_per_s > 0 ? round((1 - withBacklog.deliveries_per_s / without.deliveries_per_s) * 100) : null,
    /** the same seen through CPU per delivery, which other load on the machine skews far less */
    cpu_per_delivery_increase_pct: without.hookline_cpu_ms_per_1000 && withBacklog.hookline_cpu_ms_per_1000
      ? round((withBacklog.hookline_cpu_ms_per_1000 / without.hookline_cpu_ms_per_1000 - 1) * 100) : null,
    rss_growth_mb: (withBacklog.rss_mb_peak.total ?? 0) - (without.rss_mb_peak.total ?? 0),
  };
}
