/**
 * The load the bench parent generates: the raw undici ceiling (POSTs straight to the receiver)
 * and calls placed through Hookline's API, at a fixed rate or as fast as bounded concurrency
 * allows. Everything is bounded in time and count; every request goes to 127.0.0.1.
 */
import { Agent, Pool } from 'undici';
import { summarize, type Summary } from './stats.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface CeilingResult {
  duration_s: number;
  in_flight: number;
  connections: number;
  body_bytes: number;
  requests: number;
  errors: number;
  first_error: string | null;
  rps: number;
}

/**
 * As many POSTs as undici can make with `inFlight` requests outstanding on an Agent configured
 * like Hookline's Sender (keep-alive, 128 connections per origin). The body is a real delivery
 * body with a fresh occurred_at each time, so the receiver does the same work as for Hookline.
 * `tag` makes each round's webhook-ids and receiver bucket its own: with the same ids every
 * round, the receiver found round 2's ids already seen and skipped adding them to its set of
 * ids, work it does for every one of Hookline's deliveries (each id new).
 */
export async function rawCeiling(receiverUrl: string, sampleBody: string, durationMs: number, inFlight = 128, tag = ''): Promise<CeilingResult> {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const mark = '"occurred_at":"';
  const at = sampleBody.indexOf(mark);
  if (at < 0) throw new Error('the sample delivery body has no occurred_at');
  const head = sampleBody.slice(0, at + mark.length);
  const tail = sampleBody.slice(at + mark.length + new Date().toISOString().length);
  const { origin } = new URL(receiverUrl);
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const end = started + durationMs;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; performance.now() < end; n++) {
      try {
        const res = await agent.request({
          origin, path: '/raw', method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': `raw${tag}_${w}_${n}`, 'bench-phase': `ceiling${tag}` },
          body: head + new Date().toISOString() + tail,
        });
        await res.body.text();
        if (res.statusCode === 200) requests += 1;
        else errors += 1;
      } catch (err) {
        errors += 1;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  await agent.close();
  return {
    duration_s: round(elapsed), in_flight: inFlight, connections: 128, body_bytes: Buffer.byteLength(sampleBody),
    requests, errors, first_error: firstError, rps: round(requests / elapsed),
  };
}

export interface LoadResult {
  mode: 'fixed-rate' | 'full-speed';
  /** calls the generator meant to place (fixed rate: rate × duration) */
  planned: number;
  /** fixed rate only: slots skipped because max in-flight API requests were outstanding */
  skipped: number;
  calls_ok: number;
  calls_failed: number;
  first_error: string | null;
  /** Date.now() when the first call was sent / the last answer came */
  started_at: number;
  ended_at: number;
  /** Date.now() when the last call was sent: the load's end, for "did the receipts keep pace" */
  last_sent_at: number;
  calls_per_s: number;
  api_ms: Summary;
}

/** Places simulated outbound calls that play out at once: 5 events each, tagged with the phase. */
export class CallApi {
  readonly #pool: Pool;
  readonly #key: string;
  readonly #bodies = new Map<string, string>();

  constructor(url: string, key: string, connections: number) {
    this.#pool = new Pool(url, { connections, keepAliveTimeout: 10_000 });
    this.#key = key;
  }

  async json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await this.#pool.request({
      path, method,
      headers: { authorization: `Bearer ${this.#key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  }

  /** a GET's body as text (e.g. /metrics) */
  async text(path: string): Promise<string> {
    const res = await this.#pool.request({ path, method: 'GET', headers: { authorization: `Bearer ${this.#key}` } });
    return res.body.text();
  }

  /** resolves to null on success, else a description of the failure */
  async placeCall(phase: string): Promise<string | null> {
    let body = this.#bodies.get(phase);
    if (body === undefined) {
      body = JSON.stringify({ from: '+15550100001', to: '+15550100002', simulate: { ring_ms: 0, talk_ms: 0 }, metadata: { bench_phase: phase } });
      this.#bodies.set(phase, body);
    }
    return this.post('/v1/calls', body);
  }

  /** POSTs a JSON body; resolves to null on 201, else a description of the failure */
  async post(path: string, body: string): Promise<string | null> {
    try {
      const res = await this.#pool.request({
        path, method: 'POST',
        headers: { authorization: `Bearer ${this.#key}`, 'content-type': 'application/json' },
        body,
      });
      if (res.statusCode === 201) {
        await res.body.dump();
        return null;
      }
      return `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`;
    } catch (err) {
      return String(err);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

class Tally {
  ok = 0;
  failed = 0;
  firstError: string | null = null;
  readonly apiMs: number[] = [];
  readonly startedAt = Date.now();
  lastSentAt = 0;

  async place(api: CallApi, phase: string): Promise<void> {
    this.lastSentAt = Date.now();
    const t = performance.now();
    const err = await api.placeCall(phase);
    this.apiMs.push(performance.now() - t);
    if (err === null) this.ok += 1;
    else {
      this.failed += 1;
      this.firstError ??= err;
    }
  }

  result(mode: LoadResult['mode'], planned: number, skipped: number): LoadResult {
    const endedAt = Date.now();
    return {
      mode, planned, skipped, calls_ok: this.ok, calls_failed: this.failed, first_error: this.firstError,
      started_at: this.startedAt, ended_at: endedAt, last_sent_at: this.lastSentAt,
      calls_per_s: round((this.ok * 1000) / Math.max(1, endedAt - this.startedAt)),
      api_ms: summarize(this.apiMs),
    };
  }
}

/**
 * Open-loop: call k is due at k / rate seconds whether or not earlier calls have been answered,
 * so a slow server shows up as latency, not as a quietly lower rate. At most `maxInFlight` API
 * requests are outstanding; a due call beyond that is skipped and counted.
 */
export async function fixedRate(api: CallApi, phase: string, callsPerSec: number, durationMs: number, maxInFlight = 256): Promise<LoadResult> {
  const planned = Math.round((callsPerSec * durationMs) / 1000);
  const tally = new Tally();
  const pending = new Set<Promise<void>>();
  let issued = 0;
  let skipped = 0;
  const t0 = performance.now();
  while (issued < planned) {
    const due = Math.min(planned, Math.floor(((performance.now() - t0) * callsPerSec) / 1000) + 1);
    for (; issued < due; issued++) {
      if (pending.size >= maxInFlight) {
        skipped += 1;
        continue;
      }
      const p: Promise<void> = tally.place(api, phase).finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return tally.result('fixed-rate', planned, skipped);
}

/** Closed-loop: `concurrency` workers each place a call as soon as their last one was answered. */
export async function fullSpeed(api: CallApi, phase: string, concurrency: number, durationMs: number, maxCalls: number): Promise<LoadResult> {
  const tally = new Tally();
  const end = performance.now() + durationMs;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && started < maxCalls) {
      started += 1;
      await tally.place(api, phase);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally.result('full-speed', started, 0);
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
