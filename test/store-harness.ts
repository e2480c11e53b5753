/**
 * What the storage conformance suites share: the backends (SQLite always; PostgreSQL when
 * HOOKLINE_TEST_DATABASE_URL is set, on a fresh schema per backend run) and builders of calls,
 * events and deliveries in Hookline's terms.
 *
 * Every time is a parameter of the contract, so the tests pass "now" explicitly. The tests of one
 * backend run share one store; each test takes its own slice of time (`epoch()`), lower than
 * every earlier test's, so rows an earlier test left behind are never due in a later one.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Call, CallEvent } from '../src/calls/model.ts';
import { newId } from '../src/ids.ts';
import type { AttemptResult, Claimed, Delivery, NewDelivery, Store } from '../src/store/contract.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { PG_SKIP, pgStore, tempDir } from './helpers.ts';

export interface Opened {
  store: Store;
  /** one more store on the same storage, as another process would open it */
  another?: () => Store;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: string;
  skip: string | false;
  /** the storage of one backend run (not migrated yet) */
  open(): Promise<Opened>;
  /** several processes share the storage: claims race for real */
  shared: boolean;
}

export function sqliteDir(): Opened {
  const tmp = tempDir('hookline-conformance-');
  const stores: SqliteStore[] = [];
  const make = (): SqliteStore => {
    const s = new SqliteStore(tmp.dir);
    stores.push(s);
    return s;
  };
  return {
    store: make(), another: make,
    async cleanup() {
      for (const s of stores) await s.close();
      tmp.remove();
    },
  };
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite (memory)', skip: false, shared: false,
    open: async () => {
      const store = new SqliteStore(':memory:');
      return { store, cleanup: () => store.close() };
    },
  },
  { name: 'sqlite (temp dir)', skip: false, shared: false, open: async () => sqliteDir() },
  {
    name: 'postgres', skip: PG_SKIP, shared: true,
    open: async () => {
      const p = pgStore('hl_conformance');
      return { store: p.store, another: p.another, cleanup: p.cleanup };
    },
  },
];

// --- fixtures -------------------------------------------------------------------------------

export const DAY = 86_400_000;
let nextEpoch = 4_000_000_000_000;
/** a time slice of its own for one test: below every earlier test's */
export function epoch(): number {
  nextEpoch -= 10 * DAY;
  return nextEpoch;
}

export function makeCall(accountId: string, o: Partial<Call> = {}): Call {
  return {
    id: newId('call'), number: null, account_id: accountId, kind: 'outbound', direction: 'outbound', from: '+15550000001', to: '+15550000002',
    bridge: null, channel_id: null, flow_id: null, source: null, status: 'accepted', outcome: null, created_at: 1_700_000_000_000,
    started_at: null, answered_at: null, ended_at: null, duration: 0, recording_url: null, transcript: [], tracking: null,
    metadata: null, legs: [], error_message: null, external_id: null, webhook_id: null, callback: null, driver_state: null,
    last_seq: 0, version: 1, ...o,
  };
}

export function makeEvent(call: Call, seq: number, o: Partial<CallEvent> = {}): CallEvent {
  return { call_id: call.id, account_id: call.account_id, seq, type: 'call.accepted', leg: null, occurred_at: call.created_at + seq, data: {}, ...o };
}

export interface DeliverySpec {
  seq: number;
  key?: string;
  next?: number;
  target?: string;
}

export function makeDelivery(call: Call, spec: DeliverySpec, now: number): NewDelivery {
  const target = spec.target ?? spec.key ?? 'ep_default';
  return {
    id: newId('dlv'), account_id: call.account_id, call_id: call.id, event_seq: spec.seq, event_type: 'call.accepted', event_name: 'call.accepted',
    target_format: 'standard', target_id: target, order_key: spec.key ?? target,
    request: { method: 'POST', url: 'https://receiver.example/hook', headers: { 'content-type': 'application/json' }, body: `{"seq":${spec.seq}}` },
    created_at: now, next_attempt_at: spec.next ?? now,
  };
}

export async function newAccount(store: Store): Promise<string> {
  const id = newId('acct');
  await store.createAccount({ id, name: 'conformance', created_at: 1_700_000_000_000 }, `hash_${id}`);
  return id;
}

/** A new call with events 1..max(seq) and the given deliveries, in one write; answers the deliveries' ids in spec order. */
export async function enqueue(store: Store, accountId: string, now: number, specs: DeliverySpec[], callOverrides: Partial<Call> = {}): Promise<{ call: Call; ids: string[] }> {
  const last = Math.max(0, ...specs.map((s) => s.seq));
  const call = makeCall(accountId, { last_seq: last, ...callOverrides });
  const deliveries = specs.map((s) => makeDelivery(call, s, now));
  const events = Array.from({ length: last }, (_, i) => makeEvent(call, i + 1));
  assert.equal(await store.writeCall({ call, expected_version: null, events, timer_due_at: null, deliveries }), 'written');
  return { call, ids: deliveries.map((d) => d.id) };
}

const split = (json: string): { request_head: string; request_tail: string } => ({ request_head: json.slice(0, 30), request_tail: json.slice(30) });

export function result(owner: string, d: Claimed, status: AttemptResult['status'], now: number, o: { next?: number; disable?: string; code?: number | null } = {}): AttemptResult {
  const ok = status === 'succeeded';
  const code = o.code === undefined ? (ok ? 200 : 500) : o.code;
  const target: AttemptResult['target'] = { id: d.target_id, account_id: d.account_id, success: ok };
  if (o.disable !== undefined) target.disable_reason = o.disable;
  return {
    owner, call_id: d.call_id, format: d.target_format, order_key: d.order_key, status, next_attempt_at: o.next ?? now, target,
    attempt: {
      delivery_id: d.id, attempt: d.attempts + 1, started_at: now - 15, duration_ms: 15, status_code: code, error: ok ? null : code === null ? 'connect ECONNREFUSED' : `HTTP ${code}`,
      // the log's request JSON in two parts, as the dispatcher hands it over (delivery/headers.ts): stores join them
      ...split(JSON.stringify({ method: 'POST', url: d.request.url, headers: { 'webhook-id': d.id, 'webhook-signature': '[redacted]' } })),
      response_headers: code === null ? null : { 'content-type': 'text/plain' }, response_excerpt: code === null ? null : `answer ${code}`,
    },
  };
}

export const ids = (ds: { id: string }[]): string[] => ds.map((d) => d.id);
export const sorted = (xs: string[]): string[] => [...xs].sort();

export async function claim(store: Store, owner: string, now: number, o: { lease?: number; limit?: number; exclude?: string[] } = {}): Promise<Claimed[]> {
  return store.claimDeliveries(owner, now, now + (o.lease ?? 60_000), o.limit ?? 100, { free: new Map((o.exclude ?? []).map((k) => [k, 0])), fallback: 100 });
}

export async function getDelivery(store: Store, accountId: string, id: string): Promise<Delivery> {
  const d = await store.getDelivery(accountId, id);
  assert.ok(d, `delivery ${id} not found`);
  return d;
}


/**
 * In a suite: opens the backend's store and migrates it before the tests, cleans it up after;
 * `set` receives it (the suite keeps its own `h` and `store`).
 */
export function openForSuite(backend: Backend, set: (h: Opened) => void): void {
  let h: Opened | undefined;
  before(async () => {
    h = await backend.open();
    await h.store.migrate();
    set(h);
  });
  after(async () => {
    await h?.cleanup();
  });
}
