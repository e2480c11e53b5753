/**
 * The peers Hookline is compared with in the same run, on the same receiver, with the same
 * ~1 KB body: BullMQ on Redis (127.0.0.1:6379; skipped with a message when nothing answers there)
 * and, with --postgres, graphile-worker on a fresh database of the same PostgreSQL server.
 *
 * One job per event. The producer is this process (the application that enqueues): batches of
 * 1,000 jobs (addBulk / addJobs), a few in flight, as workload (b) posts its batches; the worker
 * is a child process (bench/peer-worker.ts) with the same concurrency as Hookline's endpoint.
 * Jobs carry attempts and a backoff, as deliveries would. Each job is its event's rendered body
 * with a call id (5 events per call) and occurred_at = the time its batch was enqueued, so the
 * receiver measures event→receipt, duplicates and per-call order the same way for everyone; the
 * peers promise no order per call, so their out-of-order count is information, not a failure.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { CpuMeter } from './cpu.ts';
import { startChild, type Child } from './ipc.ts';
import { round } from './load.ts';
import { createBenchDatabase, DEFAULT_ADMIN_URL, procCpuMs } from './pg.ts';
import { log, waitForDeliveries } from './phase.ts';
import type { PeerJob } from './peer-worker.ts';
import { sampleRss, type Rss } from './rss.ts';
import { summarize, type Summary } from './stats.ts';
import { BATCH_EVENTS, BATCHES_IN_FLIGHT, SWITCH_EVENTS_PER_CALL } from './switch.ts';

/** in-flight deliveries: the BullMQ worker's and graphile-worker's concurrency, and Hookline's endpoint's */
export const PEER_CONCURRENCY = 64;
/** HOOKLINE_BENCH_REDIS=host:port picks another Redis (e.g. a closed port, to see the peer skipped) */
const [redisHost = '127.0.0.1', redisPort = '6379'] = (process.env.HOOKLINE_BENCH_REDIS || '127.0.0.1:6379').split(':');
export const REDIS = { host: redisHost, port: Number(redisPort) };
const ATTEMPTS = 10;
const version = (pkg: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

export interface PeerResult {
  name: 'bullmq' | 'graphile-worker';
  version: string;
  config: Record<string, unknown>;
  produce: { jobs: number; batches: number; started_at: number; ended_at: number; jobs_per_s: number; batch_ms: Summary };
  expected: number;
  received: number;
  duplicates: number;
  out_of_order: number;
  /** deliveries received ÷ (last receipt − first enqueue) */
  deliveries_per_s: number;
  latency_ms: Summary;
  waited_ms: number;
  cpu_pct: Record<string, number>;
  /** CPU ms of the worker process and the store (Redis, PostgreSQL) per 1,000 deliveries; the producer (this process) not counted */
  cpu_ms_per_1000: number | null;
  /** the same with the producer's (this process's) CPU: what compares with Hookline's, which ingests too */
  cpu_ms_per_1000_with_producer: number | null;
  rss_mb_peak: Rss;
}
export type PeerOutcome = PeerResult | { name: PeerResult['name']; skipped: string };

/** Renders a job's body from a real Hookline delivery body: another call id, another occurred_at. */
export class Bodies {
  readonly #parts: string[];
  readonly #idLength: number;

  constructor(sample: string) {
    const mark = '"occurred_at":"';
    const at = sample.indexOf(mark);
    const callId = (JSON.parse(sample) as { data?: { event?: { call_id?: string } } }).data?.event?.call_id;
    if (at < 0 || !callId) throw new Error('the sample delivery body has no occurred_at or call id');
    const iso = new Date().toISOString();
    // \u0000 marks where occurred_at goes; splitting on the call id leaves the holes for the new one.
    this.#parts = (sample.slice(0, at + mark.length) + '\u0000' + sample.slice(at + mark.length + iso.length)).split(callId);
    this.#idLength = callId.length;
  }

  /** the call id of call `i` of a phase, as long as a Hookline call id: bodies of the same size */
  callId(phase: string, i: number): string {
    const head = `call_${phase}_`;
    return head + String(i).padStart(this.#idLength - head.length, '0');
  }

  render(callId: string, occurredAt: string): string {
    return this.#parts.join(callId).replace('\u0000', occurredAt);
  }
}

/** The jobs of `events` events in batches of BATCH_EVENTS, BATCHES_IN_FLIGHT batches at once. */
async function produce(phase: string, bodies: Bodies, events: number, enqueue: (jobs: PeerJob[]) => Promise<unknown>): Promise<PeerResult['produce']> {
  const calls = Math.ceil(events / SWITCH_EVENTS_PER_CALL);
  const callsPerBatch = BATCH_EVENTS / SWITCH_EVENTS_PER_CALL;
  let next = 0;
  let batches = 0;
  const batchMs: number[] = [];
  const startedAt = Date.now();
  const worker = async () => {
    while (next < calls) {
      const from = next;
      next = Math.min(calls, next + callsPerBatch);
      const at = new Date().toISOString();
      const jobs: PeerJob[] = [];
      for (let i = from; i < next; i++) {
        const callId = bodies.callId(phase, i);
        const body = bodies.render(callId, at);
        for (let seq = 1; seq <= SWITCH_EVENTS_PER_CALL; seq++) jobs.push({ body, id: `${callId}_${seq}`, seq, phase });
      }
      const t = performance.now();
      await enqueue(jobs);
      batchMs.push(performance.now() - t);
      batches += 1;
    }
  };
  await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, worker));
  const endedAt = Date.now();
  return { jobs: calls * SWITCH_EVENTS_PER_CALL, batches, started_at: startedAt, ended_at: endedAt, jobs_per_s: round((calls * SWITCH_EVENTS_PER_CALL * 1000) / Math.max(1, endedAt - startedAt)), batch_ms: summarize(batchMs) };
}

interface PeerSetup {
  name: PeerResult['name'];
  version: string;
  config: Record<string, unknown>;
  worker: Child<unknown>;
  /** CPU of the peer's store (Redis, PostgreSQL), by pid */
  storeCpu: () => Promise<Map<number, number> | null>;
  enqueue: (jobs: PeerJob[]) => Promise<unknown>;
}

/** Runs one peer's phase against the receiver: produce, wait for every delivery, measure. */
async function measure(rx: Child<{ url: string }>, s: PeerSetup, phase: string, bodies: Bodies, events: number, warm: number, waitMs: number): Promise<PeerResult> {
  // The worker is a fresh process: warmed as Hookline is before its rounds (WARMUP_EVENTS), not measured.
  const w = await produce(`${phase}_warmup`, bodies, warm, s.enqueue);
  await waitForDeliveries(rx, `${phase}_warmup`, w.jobs, waitMs);
  log(`${phase}: ${s.name} ${s.version}, ${events} jobs in addBulk/addJobs batches of ${BATCH_EVENTS} (${BATCHES_IN_FLIGHT} in flight), worker concurrency ${PEER_CONCURRENCY}`);
  const meter = new CpuMeter([s.worker, rx], s.storeCpu, s.name === 'bullmq' ? 'redis' : 'postgres');
  const rss = sampleRss([s.worker]);
  const c0 = await meter.sample();
  const p = await produce(phase, bodies, events, s.enqueue);
  const st = await waitForDeliveries(rx, phase, p.jobs, waitMs);
  const c1 = await meter.sample();
  const cpuMs = CpuMeter.ms(c0, c1, (n) => n === s.worker.name, true);
  // This process is the producer (plus a stats poll every 100 ms): Hookline's ingestion is inside its own CPU figure.
  const withProducer = CpuMeter.ms(c0, c1, (n) => n === s.worker.name || n === 'parent', true);
  return {
    name: s.name, version: s.version, config: s.config, produce: p, expected: p.jobs,
    received: st.distinct, duplicates: st.duplicates, out_of_order: st.out_of_order,
    deliveries_per_s: round(st.distinct / (Math.max(1, st.last_at - p.started_at) / 1000)),
    latency_ms: summarize(st.latencies ?? []), waited_ms: st.waited_ms, cpu_pct: CpuMeter.pct(c0, c1),
    cpu_ms_per_1000: st.distinct > 0 ? round((cpuMs * 1000) / st.distinct) : null,
    cpu_ms_per_1000_with_producer: st.distinct > 0 ? round((withProducer * 1000) / st.distinct) : null,
    rss_mb_peak: await rss.stop(),
  };
}

const workerScript = new URL('./peer-worker.ts', import.meta.url).pathname;

/** What a peer's phase needs; `tag` tells rounds apart (receiver phase, queue and database names). */
export interface PeerRun { bodies: Bodies; events: number; warm: number; stamp: string; tag: string; waitMs: number }

/** BullMQ on Redis 127.0.0.1:6379, or why it was skipped. */
export async function bullmqPeer(rx: Child<{ url: string }>, { bodies, events, warm, stamp, tag, waitMs }: PeerRun): Promise<PeerOutcome> {
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const probe = new Redis({ ...REDIS, lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  let redisPid: number | null = null;
  try {
    await probe.connect();
    redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]) || null;
  } catch (err) {
    probe.disconnect();
    const why = `no Redis answers on ${REDIS.host}:${REDIS.port} (${(err as Error).message}): BullMQ peer skipped`;
    log(why);
    return { name: 'bullmq', skipped: why };
  }
  probe.disconnect();
  const name = `hookline-bench-${stamp}${tag}`;
  const queue = new Queue<PeerJob>(name, { connection: REDIS });
  // Retries as a delivery's would be; completed jobs removed (BullMQ's advice for a busy queue:
  // Redis memory), failed ones kept for inspection.
  const opts = { attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: 10_000 };
  let worker: Child<unknown> | undefined;
  try {
    await queue.obliterate({ force: true });
    worker = await startChild('bullmq_worker', workerScript, ['bullmq', rx.info.url, `${REDIS.host}:${REDIS.port}`, name, String(PEER_CONCURRENCY)]);
    return await measure(rx, {
      name: 'bullmq', version: version('bullmq'), worker,
      config: { redis: `${REDIS.host}:${REDIS.port}`, concurrency: PEER_CONCURRENCY, ...opts },
      storeCpu: async () => {
        const ms = redisPid === null ? null : procCpuMs(redisPid);
        return ms === null ? null : new Map([[redisPid!, ms]]);
      },
      enqueue: (jobs) => queue.addBulk(jobs.map((data) => ({ name: 'deliver', data, opts }))),
    }, `peer_bullmq${tag}`, bodies, events, warm, waitMs);
  } finally {
    await worker?.stop();
    await queue.obliterate({ force: true }).catch((err: unknown) => log(`could not obliterate BullMQ queue ${name}: ${(err as Error).message}`));
    await queue.close();
  }
}

/** graphile-worker on a fresh database of the bench's PostgreSQL server, dropped afterwards. */
export async function graphilePeer(rx: Child<{ url: string }>, { bodies, events, warm, stamp, tag, waitMs }: PeerRun): Promise<PeerOutcome> {
  const { makeWorkerUtils } = await import('graphile-worker');
  const adminUrl = process.env.HOOKLINE_BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;
  let db;
  try {
    db = await createBenchDatabase(adminUrl, `hookline_bench_gw_${`${stamp}${tag}`.toLowerCase().replace(/[^a-z0-9]/g, '')}`);
  } catch (err) {
    const why = `graphile-worker peer skipped: ${(err as Error).message}`;
    log(why);
    return { name: 'graphile-worker', skipped: why };
  }
  let worker: Child<{ kind: string } & Record<string, unknown>> | undefined;
  // Our own pool, with an error handler: dropping the database (WITH (FORCE)) ends any connection
  // still open, and an unhandled 'error' on graphile-worker's own pool crashed a run.
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  const utils = await makeWorkerUtils({ pgPool: pool });
  try {
    await utils.migrate();
    worker = await startChild('graphile_worker', workerScript, ['graphile', rx.info.url, db.url, '-', String(PEER_CONCURRENCY)]);
    const { kind: _, ...config } = worker.info;
    return await measure(rx, {
      name: 'graphile-worker', version: version('graphile-worker'), worker,
      config: { database: db.name, max_attempts: ATTEMPTS, backoff: 'built in: exp(min(attempts, 10)) s', ...config },
      storeCpu: () => db.cpu(),
      enqueue: (jobs) => utils.addJobs(jobs.map((payload) => ({ identifier: 'deliver', payload, maxAttempts: ATTEMPTS }))),
    }, `peer_graphile${tag}`, bodies, events, warm, waitMs);
  } finally {
    await worker?.stop();
    await utils.release();
    await pool.end();
    await db.drop().catch((err: unknown) => log(`could not drop ${db.name}: ${(err as Error).message}`));
  }
}
