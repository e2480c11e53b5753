/**
 * Helpers for the call tests (issue 2): wait for a call to end, check a timeline's invariants,
 * count an account's calls. They talk to any base URL, so they serve both in-process servers and
 * the CLI children of the restart test.
 */
import assert from 'node:assert/strict';
import { API_KEY, request, waitFor } from './helpers.ts';

export interface EventView {
  seq: number;
  type: string;
  leg: string | null;
  occurred_at: string;
  outcome?: string;
  message?: string;
  speaker?: string;
  [k: string]: unknown;
}

export interface LegView {
  name: string;
  number: string;
  status: string;
  outcome: string | null;
}

export interface CallView {
  id: string;
  /** per account: 1, 2, 3 … (issue 11) */
  number: number;
  kind: string;
  direction: string;
  from: string;
  to: string;
  status: string;
  outcome: string | null;
  legs: LegView[];
  events: EventView[];
  transcript: { type: string; message: string; at: string }[];
  [k: string]: unknown;
}

/** GET /v1/calls/{id}, asserting 200. */
export async function getCall(base: string, id: string, key: string = API_KEY): Promise<CallView> {
  const r = await request<CallView>(base, 'GET', `/v1/calls/${id}`, undefined, { key });
  assert.equal(r.status, 200, `GET /v1/calls/${id}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Waits until the call's status is `ended` and answers it. */
export async function waitEnded(base: string, id: string, opts: { key?: string; timeoutMs?: number } = {}): Promise<CallView> {
  return waitFor(async () => {
    const c = await getCall(base, id, opts.key);
    return c.status === 'ended' ? c : null;
  }, opts.timeoutMs ?? 10_000, `call ${id} to end`);
}

/** Waits until the call's timeline has an event matching `pred`. */
export async function waitEvent(base: string, id: string, pred: (e: EventView) => boolean, opts: { key?: string; timeoutMs?: number; what?: string } = {}): Promise<CallView> {
  return waitFor(async () => {
    const c = await getCall(base, id, opts.key);
    return c.events.some(pred) ? c : null;
  }, opts.timeoutMs ?? 10_000, opts.what ?? `an event on call ${id}`);
}

/**
 * The invariants of every ended call (SPEC §2, principle 4): seq runs 1, 2, 3… with no gap,
 * exactly one call.ended and it is the last event, status `ended`, an outcome, every leg ended.
 */
export function assertEndedTimeline(call: CallView): void {
  const where = `call ${call.id} (${call.events.map((e) => `${e.seq}:${e.type}/${e.leg}`).join(', ')})`;
  assert.equal(call.status, 'ended', where);
  assert.ok(call.outcome, `${where}: no outcome`);
  assert.deepEqual(call.events.map((e) => e.seq), call.events.map((_, i) => i + 1), `${where}: seq not 1..n`);
  const ends = call.events.filter((e) => e.type === 'call.ended');
  assert.equal(ends.length, 1, `${where}: ${ends.length} call.ended`);
  assert.equal(call.events.at(-1)!.type, 'call.ended', `${where}: call.ended is not last`);
  assert.equal(ends[0]!.outcome, call.outcome, `${where}: call.ended carries another outcome`);
  for (const leg of call.legs) assert.equal(leg.status, 'ended', `${where}: leg ${leg.name} is ${leg.status}`);
}

/** Each event's type, with `/leg` for leg events: compact for deepEqual checks. */
export function timeline(call: CallView): string[] {
  return call.events.map((e) => (e.type.startsWith('leg.') ? `${e.type}/${e.leg}` : e.type));
}

/** Every call of the account, walking the cursor pages. */
export async function listAll(base: string, query = '', key: string = API_KEY, limit = 100): Promise<CallView[]> {
  const out: CallView[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const qs = new URLSearchParams(query);
    qs.set('limit', String(limit));
    if (cursor !== null) qs.set('cursor', cursor);
    const r = await request<{ data: CallView[]; next_cursor: string | null }>(base, 'GET', `/v1/calls?${qs}`, undefined, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.data);
    cursor = r.body.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error('more than 1000 pages of calls');
}

/** How many calls the account has. */
export async function callCount(base: string, key: string = API_KEY): Promise<number> {
  return (await listAll(base, '', key)).length;
}

/** Creates a tenant with the bootstrap key and answers its id and key. */
export async function createTenant(base: string, name = 'tenant'): Promise<{ id: string; api_key: string }> {
  const r = await request<{ id: string; api_key: string }>(base, 'POST', '/v1/accounts', { name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Asserts an RFC 9457 problem answer with this status and code. */
export function assertProblem(r: { status: number; headers: Headers; body: any }, status: number, code: string, field?: string): void {
  const what = `${r.status} ${JSON.stringify(r.body)}`;
  assert.equal(r.status, status, what);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(typeof r.body, 'object', what);
  assert.equal(r.body.code, code, what);
  assert.equal(r.body.status, status, what);
  assert.equal(typeof r.body.detail, 'string', what);
  if (field !== undefined) assert.equal(r.body.field, field, what);
}
