/**
 * Workload (b): switch events through batched `POST /v1/call-events`, the way a switch adapter
 * forwards what its switch reports. Each call is five events (leg.initiated with from/to/direction,
 * leg.ringing, leg.answered, call.transcript, call.ended); a request carries up to 1,000 events
 * (200 calls), a few requests are in flight. Every event's occurred_at is the moment its request
 * is sent, so the receiver's event→receipt latency counts from the switch adapter's send, as the
 * peers' count from their producer's addBulk/addJobs.
 */
import { Pool } from 'undici';
import { round } from './load.ts';
import { summarize, type Summary } from './stats.ts';

export const SWITCH_EVENTS_PER_CALL = 5;
export const BATCH_EVENTS = 1000; // the route's maximum
export const BATCHES_IN_FLIGHT = 4;
/**
 * Events (or a peer's jobs) of a warm-up before the measured rounds: Hookline's (b) warm-up, and
 * each peer's worker before each of its rounds (a fresh process each time). With 5,000 V8 was
 * still compiling Hookline's hot path through round 1 (throughput.ts says what was measured).
 */
export const WARMUP_EVENTS = 25_000;

export interface BatchLoadResult {
  mode: 'batched';
  events_planned: number;
  requests: number;
  events_ok: number;
  events_failed: number;
  first_error: string | null;
  /** Date.now() when the first request was sent / the last answer came */
  started_at: number;
  ended_at: number;
  events_per_s: number;
  /** answer time of a whole batch request */
  request_ms: Summary;
}

/** Five events of one switch call; `at` is the batch's send time (ISO). */
function callEvents(callId: string, phase: string, at: string): Record<string, unknown>[] {
  const e = (k: number, type: string, extra: Record<string, unknown> = {}) => ({ event_id: `${callId}_${k}`, call_id: callId, type, occurred_at: at, ...extra });
  return [
    e(1, 'leg.initiated', { from: '+15550100005', to: '+15550100006', direction: 'outbound', metadata: { bench_phase: phase } }),
    e(2, 'leg.ringing'),
    e(3, 'leg.answered'),
    e(4, 'call.transcript', { speaker: 'customer', message: 'Hello, I am calling about my order.' }),
    e(5, 'call.ended', { outcome: 'completed' }),
  ];
}

/**
 * Closed loop: `events` switch events (whole calls) in requests of `batchEvents`, `inFlight`
 * requests outstanding. Answers what was accepted; an event refused counts as failed.
 */
export async function switchBatches(url: string, key: string, phase: string, events: number, batchEvents = BATCH_EVENTS, inFlight = BATCHES_IN_FLIGHT): Promise<BatchLoadResult> {
  const pool = new Pool(url, { connections: inFlight, keepAliveTimeout: 10_000 });
  const run = Date.now().toString(36);
  const calls = Math.ceil(events / SWITCH_EVENTS_PER_CALL);
  const callsPerBatch = Math.max(1, Math.floor(batchEvents / SWITCH_EVENTS_PER_CALL));
  let nextCall = 0;
  let requests = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  const requestMs: number[] = [];
  const startedAt = Date.now();
  const worker = async (): Promise<void> => {
    while (nextCall < calls) {
      const from = nextCall;
      nextCall = Math.min(calls, nextCall + callsPerBatch);
      const at = new Date().toISOString();
      const batch: Record<string, unknown>[] = [];
      for (let i = from; i < nextCall; i++) batch.push(...callEvents(`sw_${phase}_${run}_${i}`, phase, at));
      const t = performance.now();
      requests += 1;
      try {
        const res = await pool.request({
          path: '/v1/call-events', method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: batch }),
        });
        const text = await res.body.text();
        requestMs.push(performance.now() - t);
        if (res.statusCode !== 200) {
          failed += batch.length;
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
          continue;
        }
        for (const r of (JSON.parse(text) as { data: { status: number; error?: unknown }[] }).data) {
          if (r.status === 200 || r.status === 201) ok += 1;
          else {
            failed += 1;
            firstError ??= `event answered ${r.status}: ${JSON.stringify(r.error).slice(0, 300)}`;
          }
        }
      } catch (err) {
        failed += batch.length;
        firstError ??= String(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    await pool.close();
  }
  const endedAt = Date.now();
  return {
    mode: 'batched', events_planned: calls * SWITCH_EVENTS_PER_CALL, requests, events_ok: ok, events_failed: failed, first_error: firstError,
    started_at: startedAt, ended_at: endedAt, events_per_s: round((ok * 1000) / Math.max(1, endedAt - startedAt)), request_ms: summarize(requestMs),
  };
}
