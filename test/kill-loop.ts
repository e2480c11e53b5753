/**
 * The kill loop (issue 9): the real CLI is SIGKILLed again and again while calls keep coming,
 * and restarted on the same data (a SQLite data directory, or a PostgreSQL database). A client
 * places calls at a bounded rate (simulated calls of every kind, and switch calls whose events it
 * posts itself) and, like a real client, retries each request until it is answered: with the same
 * Idempotency-Key (or switch event_id), so every call it meant exists exactly once. Once the load
 * stops and every call has ended, the receiver's tally is held against the timelines the API
 * reports. `npm run faults` runs the long loop (kill-loop-main.ts); kill-loop.test.ts a short one.
 */
import { randomBytes } from 'node:crypto';
import { listAll } from './call-helpers.ts';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { deliveries } from './delivery-helpers.ts';
import { request, tempDir, waitFor, type ApiResponse } from './helpers.ts';
import { startTallyReceiver, type DeliveryCounts } from './kill-loop-tally.ts';

const KEY = 'hk_kill_loop_key_0123456789abcdef';

export interface KillLoopOptions {
  kills: number;
  /** calls started per second */
  rate: number;
  /** mean time between a restart and the next kill (each gap is 0.5–1.5 times this) */
  intervalMs: number;
  /** share of calls that are switch calls posted to /v1/call-events (0–1) */
  ingestShare?: number;
  /** a fresh PostgreSQL database; SQLite in a temporary directory when absent */
  databaseUrl?: string;
  /** --lease-ms of the server (PostgreSQL: how soon a killed process's claims are taken over) */
  leaseMs?: number;
  /** how long to wait, after the load, for every call to end and every delivery to arrive */
  settleMs?: number;
  seed?: number;
  /** progress lines (one per kill) */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface KillLoopReport extends DeliveryCounts {
  backend: 'sqlite' | 'postgres';
  seed: number;
  kills: number;
  rate: number;
  load_s: number;
  /** from the end of the load until everything had arrived (or the deadline) */
  settle_s: number;
  settled: boolean;
  /** kill → the next process listening, ms */
  down_ms: { median: number; max: number };
  calls: {
    intended: number;
    /** answered 201/200 by the API (for switch calls: every event answered) */
    acknowledged: number;
    /** answered from an earlier attempt's commit: Idempotency-Key replay, or a known event_id */
    replayed: number;
    /** requests sent again after a network error or 5xx (the server was down or dying) */
    retries: number;
    /** 5xx answers from a live server */
    server_errors: number;
    /** answered 4xx: a client bug, or the server refusing what it should take */
    rejected: number;
    /** never answered before the deadline */
    unanswered: number;
    /** acknowledged, but the API does not have it */
    missing: number;
    /** in the API, but never acknowledged: a call created twice */
    extra: number;
  };
  /** deliveries the log shows as dead (every one should have succeeded) */
  dead: number;
}

/** A small seeded PRNG (mulberry32): a run's call mix and kill times follow from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pacing of the load and of the kills (a schedule, not a wait for a condition); ends early on abort. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A simulated call of every kind and ending, short enough that kills land in every phase. */
function simulatedCall(i: number, rnd: () => number): { route: string; body: Record<string, unknown> } {
  const ms = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo));
  const to = `+1555090${String(i % 100_000).padStart(5, '0')}`;
  const meta = { metadata: { kill_loop: String(i) } };
  const r = rnd();
  if (r < 0.55) {
    const sim: Record<string, unknown> = { ring_ms: ms(30, 300), talk_ms: ms(100, 1200) };
    if (i % 3 === 0) sim.transcript = [{ type: 'agent', message: `hello ${i}` }, { type: 'customer', message: 'hi' }];
    return { route: '/v1/calls', body: { from: '+15550900000', to, simulate: sim, ...meta } };
  }
  if (r < 0.7) {
    const outcome = (['busy', 'no-answer', 'failed'] as const)[i % 3]!;
    return { route: '/v1/calls', body: { from: '+15550900000', to, simulate: { ring_ms: ms(30, 300), outcome }, ...meta } };
  }
  if (r < 0.85) {
    const toLeg = i % 4 === 0 ? { ring_ms: ms(30, 200), outcome: 'busy' } : { ring_ms: ms(30, 300), talk_ms: ms(100, 800) };
    return { route: '/v1/click-to-call', body: { from: '+15550900001', to, simulate: { from: { ring_ms: ms(30, 200) }, to: toLeg }, ...meta } };
  }
  const sim = i % 2 === 0 ? { ring_ms: ms(30, 300), talk_ms: ms(100, 800) } : { ring_ms: ms(30, 300), outcome: 'no-answer' };
  return { route: '/v1/inbound-calls', body: { from: to, to: '+15550900002', simulate: sim, ...meta } };
}

/** Runs the loop; cleans up its processes, receiver and data directory whatever happens. */
export async function runKillLoop(o: KillLoopOptions): Promise<KillLoopReport> {
  const seed = o.seed ?? randomBytes(4).readUInt32BE();
  const loadRnd = prng(seed);
  const killRnd = prng(seed ^ 0x9e3779b9);
  const ingestShare = o.ingestShare ?? 0.2;
  const settleMs = o.settleMs ?? 60_000;
  const log = o.log ?? (() => undefined);
  const run = `kl${seed.toString(36)}${Date.now().toString(36)}`;
  const tmp = tempDir('hookline-kill-loop-');
  const args = ['--data-dir', tmp.dir, '--api-key', KEY, '--allow-private-targets', '--retry-schedule', '0.05,0.1,0.2,0.5,1,2,5'];
  if (o.databaseUrl) args.push('--database-url', o.databaseUrl, '--lease-ms', String(o.leaseMs ?? 3000));
  else if (o.leaseMs) args.push('--lease-ms', String(o.leaseMs));

  const { receiver, tally } = await startTallyReceiver();
  let child: Child | undefined;
  // Where the client sends: the last process that listened. After a kill its requests are
  // refused until the next process is up (each start gets a new port), as a real client's would be.
  let url = '';
  let generation = 0;
  const start = async (): Promise<void> => {
    child = await spawnHookline(args, `hookline#${++generation}`);
    url = child.url;
  };

  const stats = { intended: 0, acknowledged: 0, replayed: 0, retries: 0, server_errors: 0, rejected: 0, unanswered: 0 };
  const acked = new Set<string>();
  let stopLoad = false;
  let deadline = Infinity;
  const aborted = () => o.signal?.aborted === true;

  /** POSTs until answered below 500; null once past the deadline. */
  const send = async (route: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse | null> => {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline || aborted()) return null;
      if (attempt > 0) {
        stats.retries += 1;
        // The server is down or dying: back off a little (20 ms, growing to 200 ms) and try again.
        await pause(Math.min(200, 20 + attempt * 10), o.signal);
      }
      try {
        const r = await request(url, 'POST', route, body, { key: KEY, headers });
        if (r.status < 500) return r;
        // Not a crash (those refuse or reset the connection): a live server failing. Retried, and reported.
        stats.server_errors += 1;
        if (tally.samples.length < 20) tally.samples.push(`server error: ${route} answered ${r.status} ${JSON.stringify(r.body)}`);
      } catch {
        // connection refused or reset: the server died under this request
      }
    }
  };
  const refused = (what: string, r: ApiResponse) => {
    stats.rejected += 1;
    if (tally.samples.length < 20) tally.samples.push(`rejected: ${what} answered ${r.status} ${JSON.stringify(r.body)}`);
  };

  const placeCall = async (i: number): Promise<void> => {
    const { route, body } = simulatedCall(i, loadRnd);
    const r = await send(route, body, { 'idempotency-key': `${run}-${i}` });
    if (r === null) return void (stats.unanswered += 1);
    if (r.status !== 201) return refused(`${route} #${i}`, r);
    if (r.headers.get('idempotent-replayed') === 'true') stats.replayed += 1;
    acked.add(r.body.id as string);
    stats.acknowledged += 1;
  };

  /** A switch call: five events posted in order, each retried until answered (idempotent by event_id). */
  const switchCall = async (i: number): Promise<void> => {
    const swId = `${run}-sw-${i}`;
    const gaps = Array.from({ length: 4 }, () => 50 + Math.floor(loadRnd() * 250));
    const steps: Record<string, unknown>[] = [
      { type: 'leg.initiated', from: '+15550910000', to: `+1555091${String(i % 100_000).padStart(5, '0')}`, direction: 'inbound' },
      { type: 'leg.ringing' },
      { type: 'leg.answered' },
      { type: 'call.transcript', speaker: 'customer', message: `switch line ${i}` },
      { type: 'call.ended', outcome: 'completed' },
    ];
    let id: string | undefined;
    for (const [k, step] of steps.entries()) {
      if (k > 0) await pause(gaps[k - 1]!, o.signal); // the switch's own pace between events
      const r = await send('/v1/call-events', { event_id: `${swId}-${k}`, call_id: swId, ...step });
      if (r === null) return void (stats.unanswered += 1);
      if (r.status !== 200 && r.status !== 201) return refused(`switch event ${swId}-${k}`, r);
      // A first event answered 200 was committed by an attempt whose answer the kill swallowed.
      if (k === 0 && r.status === 200) stats.replayed += 1;
      id = r.body.id as string;
      acked.add(id); // a switch call exists from its first event on
    }
    if (id !== undefined) stats.acknowledged += 1;
  };

  const driveLoad = async (): Promise<void> => {
    const flows: Promise<void>[] = [];
    const t0 = Date.now();
    for (let i = 0; !stopLoad && !aborted(); i++) {
      await pause(t0 + (i * 1000) / o.rate - Date.now(), o.signal);
      if (stopLoad || aborted()) break;
      stats.intended += 1;
      flows.push(loadRnd() < ingestShare ? switchCall(i) : placeCall(i));
    }
    await Promise.all(flows);
  };

  const downMs: number[] = [];
  try {
    await start();
    const ep = await request(url, 'POST', '/v1/endpoints', { url: `${receiver.url}/kill-loop` }, { key: KEY });
    if (ep.status !== 201) throw new Error(`endpoint not created: ${ep.status} ${JSON.stringify(ep.body)}`);

    const tLoad = Date.now();
    const load = driveLoad();
    for (let k = 1; k <= o.kills && !aborted(); k++) {
      await pause(o.intervalMs * (0.5 + killRnd()), o.signal);
      if (aborted()) break;
      const tKill = Date.now();
      await stopChild(child, 'SIGKILL');
      await start();
      downMs.push(Date.now() - tKill);
      log(`kill ${k}/${o.kills} at +${((tKill - tLoad) / 1000).toFixed(1)} s: ${stats.acknowledged} calls acknowledged, ` +
        `${tally.requests} deliveries received; listening again after ${downMs.at(-1)} ms`);
    }
    // The load goes on for a while after the last restart, then stops; the client's requests
    // still outstanding get until the settle deadline.
    await pause(o.intervalMs, o.signal);
    stopLoad = true;
    deadline = Date.now() + settleMs;
    await load;
    const tLoadEnd = Date.now();
    if (aborted()) throw new Error('aborted');

    const pending = new Set(acked);
    const settled = await waitFor(() => {
      for (const id of pending) if (tally.complete(id)) pending.delete(id);
      return pending.size === 0;
    }, Math.max(1000, deadline - Date.now()), 'every call to end and every delivery to arrive').then(() => true, () => false);
    const settleS = (Date.now() - tLoadEnd) / 1000;
    if (!settled) log(`not settled: ${pending.size} calls still incomplete at the receiver`);

    const calls = await listAll(url, '', KEY);
    const inApi = new Set(calls.map((c) => c.id));
    const counts = tally.count(calls.filter((c) => acked.has(c.id)));
    const dead = (await deliveries(url, { status: 'dead' }, KEY)).length;
    return {
      backend: o.databaseUrl ? 'postgres' : 'sqlite', seed, kills: downMs.length, rate: o.rate,
      load_s: (tLoadEnd - tLoad) / 1000, settle_s: settleS, settled,
      down_ms: { median: median(downMs), max: Math.max(0, ...downMs) },
      calls: {
        ...stats,
        missing: [...acked].filter((id) => !inApi.has(id)).length,
        extra: calls.filter((c) => !acked.has(c.id)).length,
      },
      dead, ...counts,
    };
  } catch (err) {
    const out = child ? `\n--- ${child.name}:\n${child.output.slice(-30).join('\n')}` : '';
    throw new Error(`${(err as Error).message}${out}`, { cause: err });
  } finally {
    stopLoad = true;
    deadline = 0;
    await stopChild(child, 'SIGKILL');
    await receiver.close();
    tmp.remove();
  }
}

/** What makes a run fail: anything lost, out of order, doubled or unaccounted for. */
export function failures(r: KillLoopReport): string[] {
  const f: string[] = [];
  const zero = {
    lost: r.lost, out_of_order: r.out_of_order, split_ids: r.split_ids, reused_ids: r.reused_ids, unexpected: r.unexpected,
    unreadable: r.unreadable, bad_timelines: r.bad_timelines, ended_not_once: r.ended_not_once,
    ended_received_not_once: r.ended_received_not_once, dead: r.dead, 'calls.missing': r.calls.missing,
    'calls.extra': r.calls.extra, 'calls.rejected': r.calls.rejected, 'calls.unanswered': r.calls.unanswered,
  };
  for (const [k, v] of Object.entries(zero)) if (v !== 0) f.push(`${k} = ${v}`);
  if (!r.settled) f.push('not settled before the deadline');
  if (r.calls.acknowledged !== r.calls.intended) f.push(`${r.calls.acknowledged} of ${r.calls.intended} calls acknowledged`);
  return f;
}

/** The figures as a small table. */
export function formatReport(r: KillLoopReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const rows: [string, string][] = [
    ['backend', `${r.backend} (seed ${r.seed})`],
    ['SIGKILLs', `${r.kills}; down ${r.down_ms.median} ms median, ${r.down_ms.max} ms max (kill → listening)`],
    ['load', `${r.rate} calls/s for ${r.load_s.toFixed(1)} s; settled ${r.settled ? 'yes' : 'NO'}, ${r.settle_s.toFixed(1)} s after`],
    ['calls intended / acknowledged', `${n(r.calls.intended)} / ${n(r.calls.acknowledged)}`],
    ['  replayed / retried requests', `${n(r.calls.replayed)} / ${n(r.calls.retries)}`],
    ['  5xx / rejected / unanswered / missing / extra', `${r.calls.server_errors} / ${r.calls.rejected} / ${r.calls.unanswered} / ${r.calls.missing} / ${r.calls.extra}`],
    ['events expected / received', `${n(r.expected)} / ${n(r.received)}`],
    ['requests at the receiver', n(r.requests)],
    ['lost', String(r.lost)],
    ['duplicates (same webhook-id)', String(r.duplicates)],
    ['out of order', String(r.out_of_order)],
    ['split / reused webhook-ids', `${r.split_ids} / ${r.reused_ids}`],
    ['calls with ≠ 1 call.ended (timeline / received)', `${r.ended_not_once} / ${r.ended_received_not_once}`],
    ['bad timelines / unexpected / dead', `${r.bad_timelines} / ${r.unexpected} / ${r.dead}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
