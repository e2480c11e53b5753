/**
 * Issue 6 / SPEC §7: one storage contract, one conformance suite, run against every backend in
 * BACKENDS (SQLite always; PostgreSQL when HOOKLINE_TEST_DATABASE_URL is set, on a fresh schema
 * per backend run).
 *
 * Every time is a parameter of the contract, so the tests pass "now" explicitly. The tests of one
 * backend run share one store; each test takes its own slice of time (`epoch()`), lower than
 * every earlier test's, so rows an earlier test left behind are never due in a later one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Call, CallEvent } from '../src/calls/model.ts';
import { newId } from '../src/ids.ts';
import type { AttemptResult, CallWrite, Delivery, NewDelivery, Resource, Store } from '../src/store/contract.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { PG_SKIP, pgStore, tempDir, waitFor } from './helpers.ts';

interface Opened {
  store: Store;
  /** one more store on the same storage, as another process would open it */
  another?: () => Store;
  cleanup(): Promise<void>;
}

interface Backend {
  name: string;
  skip: string | false;
  /** the storage of one backend run (not migrated yet) */
  open(): Promise<Opened>;
  /** several processes share the storage: claims race for real */
  shared: boolean;
}

function sqliteDir(): Opened {
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

const BACKENDS: Backend[] = [
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

const DAY = 86_400_000;
let nextEpoch = 4_000_000_000_000;
/** a time slice of its own for one test: below every earlier test's */
function epoch(): number {
  nextEpoch -= 10 * DAY;
  return nextEpoch;
}

function makeCall(accountId: string, o: Partial<Call> = {}): Call {
  return {
    id: newId('call'), account_id: accountId, kind: 'outbound', direction: 'outbound', from: '+15550000001', to: '+15550000002',
    bridge: null, channel_id: null, flow_id: null, source: null, status: 'accepted', outcome: null, created_at: 1_700_000_000_000,
    started_at: null, answered_at: null, ended_at: null, duration: 0, recording_url: null, transcript: [], tracking: null,
    metadata: null, legs: [], error_message: null, driver: 'sim', external_id: null, webhook_id: null, callback: null, sim: null,
    last_seq: 0, version: 1, ...o,
  };
}

function makeEvent(call: Call, seq: number, o: Partial<CallEvent> = {}): CallEvent {
  return { call_id: call.id, account_id: call.account_id, seq, type: 'call.accepted', leg: null, occurred_at: call.created_at + seq, data: {}, ...o };
}

interface DeliverySpec {
  seq: number;
  key?: string;
  next?: number;
  target?: string;
}

function makeDelivery(call: Call, spec: DeliverySpec, now: number): NewDelivery {
  const target = spec.target ?? spec.key ?? 'ep_default';
  return {
    id: newId('dlv'), account_id: call.account_id, call_id: call.id, event_seq: spec.seq, event_type: 'call.accepted', event_name: 'call.accepted',
    target_format: 'standard', target_id: target, order_key: spec.key ?? target,
    request: { method: 'POST', url: 'https://receiver.example/hook', headers: { 'content-type': 'application/json' }, body: `{"seq":${spec.seq}}` },
    created_at: now, next_attempt_at: spec.next ?? now,
  };
}

async function newAccount(store: Store): Promise<string> {
  const id = newId('acct');
  await store.createAccount({ id, name: 'conformance', created_at: 1_700_000_000_000 }, `hash_${id}`);
  return id;
}

/** A new call with events 1..max(seq) and the given deliveries, in one write; answers the deliveries' ids in spec order. */
async function enqueue(store: Store, accountId: string, now: number, specs: DeliverySpec[], callOverrides: Partial<Call> = {}): Promise<{ call: Call; ids: string[] }> {
  const last = Math.max(0, ...specs.map((s) => s.seq));
  const call = makeCall(accountId, { last_seq: last, ...callOverrides });
  const deliveries = specs.map((s) => makeDelivery(call, s, now));
  const events = Array.from({ length: last }, (_, i) => makeEvent(call, i + 1));
  assert.equal(await store.writeCall({ call, expected_version: null, events, timer_due_at: null, deliveries }), true);
  return { call, ids: deliveries.map((d) => d.id) };
}

function result(owner: string, d: Delivery, status: AttemptResult['status'], now: number, o: { next?: number; disable?: string; code?: number | null } = {}): AttemptResult {
  const ok = status === 'succeeded';
  const code = o.code === undefined ? (ok ? 200 : 500) : o.code;
  const target: AttemptResult['target'] = { id: d.target_id, account_id: d.account_id, success: ok };
  if (o.disable !== undefined) target.disable_reason = o.disable;
  return {
    owner, call_id: d.call_id, order_key: d.order_key, status, next_attempt_at: o.next ?? now, target,
    attempt: {
      delivery_id: d.id, attempt: d.attempts + 1, started_at: now - 15, duration_ms: 15, status_code: code, error: ok ? null : code === null ? 'connect ECONNREFUSED' : `HTTP ${code}`,
      request: { method: 'POST', url: d.request.url, headers: { 'webhook-id': d.id, 'webhook-signature': '[redacted]' } },
      response_headers: code === null ? null : { 'content-type': 'text/plain' }, response_excerpt: code === null ? null : `answer ${code}`,
    },
  };
}

const ids = (ds: { id: string }[]): string[] => ds.map((d) => d.id);
const sorted = (xs: string[]): string[] => [...xs].sort();

async function claim(store: Store, owner: string, now: number, o: { lease?: number; limit?: number; exclude?: string[] } = {}): Promise<Delivery[]> {
  return store.claimDeliveries(owner, now, now + (o.lease ?? 60_000), o.limit ?? 100, o.exclude ?? []);
}

async function getDelivery(store: Store, accountId: string, id: string): Promise<Delivery> {
  const d = await store.getDelivery(accountId, id);
  assert.ok(d, `delivery ${id} not found`);
  return d;
}

// --- the suite ------------------------------------------------------------------------------

for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: storage conformance`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: storage conformance`, () => {
    let h: Opened;
    let store: Store;
    before(async () => {
      h = await backend.open();
      store = h.store;
      await store.migrate();
    });
    after(async () => {
      await h?.cleanup();
    });

    test('migrate twice is a no-op, also from another store on the same storage', async () => {
      const acct = await newAccount(store);
      await store.migrate();
      await store.ping();
      assert.deepEqual(await store.findApiKey(`hash_${acct}`), { account_id: acct, bootstrap: false });
      if (h.another) {
        const other = h.another();
        await other.migrate();
        assert.deepEqual(await other.findApiKey(`hash_${acct}`), { account_id: acct, bootstrap: false });
      }
    });

    if (backend.shared) {
      test('several stores migrating the same fresh schema at once all succeed', async () => {
        const p = pgStore('hl_migrate_race');
        try {
          const stores = [p.store, p.another(), p.another(), p.another()];
          await Promise.all(stores.map((s) => s.migrate()));
          const acct = await newAccount(stores[0]!);
          for (const s of stores) assert.deepEqual(await s.findApiKey(`hash_${acct}`), { account_id: acct, bootstrap: false });
          await Promise.all(stores.map((s) => s.migrate()));
        } finally {
          await p.cleanup();
        }
      });
    }

    test('bootstrap key and accounts; findApiKey', async () => {
      assert.equal(await store.getBootstrapAccount(), undefined);
      const boot = newId('acct');
      await store.setBootstrapKey(boot, 'hash_boot_1', 1000);
      assert.equal(await store.getBootstrapAccount(), boot);
      assert.deepEqual(await store.findApiKey('hash_boot_1'), { account_id: boot, bootstrap: true });
      // The same key again: nothing changes. Another key: it replaces the first, same account.
      await store.setBootstrapKey(boot, 'hash_boot_1', 2000);
      assert.deepEqual(await store.findApiKey('hash_boot_1'), { account_id: boot, bootstrap: true });
      await store.setBootstrapKey(boot, 'hash_boot_2', 3000);
      assert.equal(await store.findApiKey('hash_boot_1'), undefined);
      assert.deepEqual(await store.findApiKey('hash_boot_2'), { account_id: boot, bootstrap: true });
      assert.equal(await store.getBootstrapAccount(), boot);
      assert.equal(await store.resourcesVersion(boot), 0, 'the bootstrap account exists');

      const acct = newId('acct');
      await store.createAccount({ id: acct, name: 'second', created_at: 4000 }, 'hash_second');
      assert.deepEqual(await store.findApiKey('hash_second'), { account_id: acct, bootstrap: false });
      assert.equal(await store.getBootstrapAccount(), boot);
      // A clash writes nothing: not the account, not its key.
      await assert.rejects(store.createAccount({ id: acct, name: 'dup', created_at: 5000 }, 'hash_dup'));
      assert.equal(await store.findApiKey('hash_dup'), undefined);
      assert.equal(await store.findApiKey('hash_unknown'), undefined);
    });

    test('writeCall inserts; an update needs the version read; a stale one answers false and writes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const call = makeCall(acct, { external_id: `ext_${acct}`, last_seq: 1, metadata: { n: 1, s: 'x' } });
      const first: CallWrite = {
        call, expected_version: null, events: [makeEvent(call, 1)], timer_due_at: T + 100,
        deliveries: [makeDelivery(call, { seq: 1 }, T)],
      };
      assert.equal(await store.writeCall(first), true);
      assert.deepEqual(await store.getCall(acct, call.id), call);
      assert.deepEqual(await store.getCall(null, call.id), call);
      assert.equal(await store.getCall(other, call.id), undefined, 'another account does not see it');
      assert.deepEqual(await store.getCallByExternalId(acct, `ext_${acct}`), call);
      assert.equal(await store.getCallByExternalId(other, `ext_${acct}`), undefined);
      assert.deepEqual(await store.listEvents([call.id]), [makeEvent(call, 1)]);

      const v2 = { ...call, status: 'ringing' as const, version: 2, last_seq: 2 };
      assert.equal(await store.writeCall({ call: v2, expected_version: 1, events: [makeEvent(call, 2, { type: 'leg.ringing', leg: 'main' })], timer_due_at: T + 200, deliveries: [makeDelivery(call, { seq: 2 }, T)] }), true);
      assert.deepEqual(await store.getCall(acct, call.id), v2);

      // Stale: read at version 1, written after version 2. Nothing of it lands: not the call, its
      // events, its deliveries, its timer or its idempotency key.
      const stale = { ...call, status: 'ended' as const, outcome: 'busy' as const, version: 2, last_seq: 3 };
      const ok = await store.writeCall({
        call: stale, expected_version: 1, events: [makeEvent(call, 3, { type: 'call.ended' })], timer_due_at: null,
        deliveries: [makeDelivery(call, { seq: 3 }, T)], idempotency: { route: 'POST /v1/calls/x/hangup', key: 'stale-key', request_hash: 'h', status: 200, body: '{}' },
      });
      assert.equal(ok, false);
      assert.deepEqual(await store.getCall(acct, call.id), v2);
      assert.deepEqual((await store.listEvents([call.id])).map((e) => e.seq), [1, 2]);
      assert.deepEqual((await store.listDeliveries(acct, { call_id: call.id }, 10, null)).map((d) => d.event_seq), [2, 1]);
      assert.equal(await store.getIdempotent(acct, 'POST /v1/calls/x/hangup', 'stale-key'), undefined);
      assert.deepEqual((await store.claimTimers('o_stale', T + 200, T + 300, 10)).map((t) => t.call_id), [call.id], 'the timer is still set');

      // An update of a call that does not exist answers false as well.
      const ghost = makeCall(acct, { version: 2 });
      assert.equal(await store.writeCall({ call: ghost, expected_version: 1, events: [], timer_due_at: null, deliveries: [] }), false);
      assert.equal(await store.getCall(acct, ghost.id), undefined);
    });

    test('an idempotency key clash answers false and writes nothing; keys are per account and route', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const idem = { route: 'POST /v1/calls', key: 'k-1', request_hash: 'hash-a', status: 201, body: '{"id":"first"}' };
      const a = makeCall(acct, { last_seq: 1 });
      assert.equal(await store.writeCall({ call: a, expected_version: null, events: [makeEvent(a, 1)], timer_due_at: null, deliveries: [], idempotency: idem }), true);
      assert.deepEqual(await store.getIdempotent(acct, 'POST /v1/calls', 'k-1'), { request_hash: 'hash-a', status: 201, body: '{"id":"first"}' });

      const b = makeCall(acct, { last_seq: 1 });
      const clash = await store.writeCall({
        call: b, expected_version: null, events: [makeEvent(b, 1)], timer_due_at: T, deliveries: [makeDelivery(b, { seq: 1 }, T)],
        idempotency: { ...idem, request_hash: 'hash-b', body: '{"id":"second"}' },
      });
      assert.equal(clash, false);
      assert.equal(await store.getCall(acct, b.id), undefined);
      assert.deepEqual(await store.listEvents([b.id]), []);
      assert.deepEqual(await store.listDeliveries(acct, { call_id: b.id }, 10, null), []);
      assert.equal((await store.getIdempotent(acct, 'POST /v1/calls', 'k-1'))?.body, '{"id":"first"}');

      // The same key on another route, or in another account, is another key.
      const c = makeCall(acct);
      assert.equal(await store.writeCall({ call: c, expected_version: null, events: [], timer_due_at: null, deliveries: [], idempotency: { ...idem, route: 'POST /v1/click-to-call' } }), true);
      const d = makeCall(other);
      assert.equal(await store.writeCall({ call: d, expected_version: null, events: [], timer_due_at: null, deliveries: [], idempotency: idem }), true);
      assert.equal(await store.getIdempotent(acct, 'POST /v1/other', 'k-1'), undefined);
    });

    test('an ingest event id clash answers false and writes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const a = makeCall(acct, { driver: 'external', external_id: 'sw-1', last_seq: 1 });
      assert.equal(await store.writeCall({ call: a, expected_version: null, events: [makeEvent(a, 1)], timer_due_at: null, deliveries: [], ingest_event_id: 'evt-1' }), true);
      assert.equal(await store.getIngested(acct, 'evt-1'), a.id);
      assert.equal(await store.getIngested(other, 'evt-1'), undefined);

      // The same event id again, on an update of the same call: refused, nothing written.
      const a2 = { ...a, status: 'ringing' as const, version: 2, last_seq: 2 };
      assert.equal(await store.writeCall({ call: a2, expected_version: 1, events: [makeEvent(a, 2)], timer_due_at: T, deliveries: [makeDelivery(a, { seq: 2 }, T)], ingest_event_id: 'evt-1' }), false);
      assert.deepEqual(await store.getCall(acct, a.id), a);
      assert.deepEqual((await store.listEvents([a.id])).map((e) => e.seq), [1]);
      assert.deepEqual(await store.listDeliveries(acct, { call_id: a.id }, 10, null), []);

      // A new event id on the same call goes in; the same id in another account too.
      assert.equal(await store.writeCall({ call: a2, expected_version: 1, events: [makeEvent(a, 2)], timer_due_at: null, deliveries: [], ingest_event_id: 'evt-2' }), true);
      assert.equal(await store.getIngested(acct, 'evt-2'), a.id);
      const b = makeCall(other, { driver: 'external' });
      assert.equal(await store.writeCall({ call: b, expected_version: null, events: [], timer_due_at: null, deliveries: [], ingest_event_id: 'evt-1' }), true);
      assert.equal(await store.getIngested(other, 'evt-1'), b.id);
    });

    test('listCalls: filters, newest first, the `after` cursor, account scope', async () => {
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const specs: Partial<Call>[] = [
        { from: '+1001', to: '+2001', status: 'ended', outcome: 'completed', channel_id: 'ch1', external_id: 'ext-1' },
        { kind: 'inbound', direction: 'inbound', from: '+1002', to: '+2001', status: 'ringing' },
        { kind: 'click_to_call', from: '+1001', to: '+2003', status: 'ended', outcome: 'busy' },
        { from: '+1004', to: '+2004', external_id: 'ext-4' },
        { from: '+1005', to: '+2005', channel_id: 'ch1', status: 'answered' },
      ];
      const calls: Call[] = [];
      for (const s of specs) {
        const c = makeCall(acct, s);
        assert.equal(await store.writeCall({ call: c, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), true);
        calls.push(c);
      }
      const foreign = makeCall(other, specs[0]);
      assert.equal(await store.writeCall({ call: foreign, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), true);
      const [c1, c2, c3, c4, c5] = calls.map((c) => c.id);

      const list = async (f: Parameters<Store['listCalls']>[1], limit = 50, afterId: string | null = null): Promise<string[]> =>
        ids(await store.listCalls(acct, f, limit, afterId));
      assert.deepEqual(await list({}), [c5, c4, c3, c2, c1]);
      assert.deepEqual(await store.listCalls(acct, {}, 1, null), [calls[4]]);
      assert.deepEqual(await list({ kind: 'click_to_call' }), [c3]);
      assert.deepEqual(await list({ direction: 'inbound' }), [c2]);
      assert.deepEqual(await list({ status: 'ended' }), [c3, c1]);
      assert.deepEqual(await list({ outcome: 'busy' }), [c3]);
      assert.deepEqual(await list({ from: '+1001' }), [c3, c1]);
      assert.deepEqual(await list({ to: '+2001' }), [c2, c1]);
      assert.deepEqual(await list({ channel_id: 'ch1' }), [c5, c1]);
      assert.deepEqual(await list({ external_id: 'ext-4' }), [c4]);
      assert.deepEqual(await list({ from: '+1001', outcome: 'completed' }), [c1]);
      assert.deepEqual(await list({ status: 'nope' }), []);
      // Pages of two, each starting after the last id of the page before.
      assert.deepEqual(await list({}, 2), [c5, c4]);
      assert.deepEqual(await list({}, 2, c4!), [c3, c2]);
      assert.deepEqual(await list({}, 2, c2!), [c1]);
      assert.deepEqual(await list({}, 2, c1!), []);
      assert.deepEqual(await list({ from: '+1001' }, 1, c3!), [c1]);
      assert.deepEqual(ids(await store.listCalls(other, {}, 50, null)), [foreign.id]);
    });

    test('listEvents: every event of the calls asked for, by call then seq, data intact', async () => {
      const acct = await newAccount(store);
      const a = makeCall(acct, { last_seq: 3 });
      const b = makeCall(acct, { last_seq: 1 });
      const aEvents = [
        makeEvent(a, 1),
        makeEvent(a, 2, { type: 'leg.answered', leg: 'main' }),
        makeEvent(a, 3, { type: 'call.transcript', data: { message: 'héllo "there"', speaker: 'agent' } }),
      ];
      // a's events arrive over two writes, in one call of writeCall each.
      assert.equal(await store.writeCall({ call: { ...a, last_seq: 1 }, expected_version: null, events: aEvents.slice(0, 1), timer_due_at: null, deliveries: [] }), true);
      assert.equal(await store.writeCall({ call: { ...a, version: 2 }, expected_version: 1, events: aEvents.slice(1), timer_due_at: null, deliveries: [] }), true);
      const bEvents = [makeEvent(b, 1, { type: 'call.ended', data: { outcome: 'busy' } })];
      assert.equal(await store.writeCall({ call: b, expected_version: null, events: bEvents, timer_due_at: null, deliveries: [] }), true);

      assert.deepEqual(await store.listEvents([a.id]), aEvents);
      const both = await store.listEvents([b.id, a.id, 'call_unknown']);
      const byCall = [...aEvents, ...bEvents].sort((x, y) => (x.call_id < y.call_id ? -1 : x.call_id > y.call_id ? 1 : x.seq - y.seq));
      assert.deepEqual(both, byCall);
      assert.deepEqual(await store.listEvents([]), []);
    });

    test('timers: due ones only; a claimed timer waits for its lease to expire; release hands back', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const timer = async (due: number | null, c?: Call): Promise<Call> => {
        const call = c ? { ...c, version: c.version + 1 } : makeCall(acct);
        assert.equal(await store.writeCall({ call, expected_version: c ? c.version : null, events: [], timer_due_at: due, deliveries: [] }), true);
        return call;
      };
      const a = await timer(T + 100);
      let b = await timer(T + 200);
      const c = await timer(T + 5000);
      const claimed = async (owner: string, now: number, leaseMs = 1000, limit = 10): Promise<string[]> =>
        (await store.claimTimers(owner, now, now + leaseMs, limit)).map((t) => t.call_id);

      assert.equal(await store.nextTimerDue(), T + 100);
      assert.deepEqual(await claimed('o1', T + 99), [], 'nothing is due yet');
      assert.deepEqual(await store.claimTimers('o1', T + 250, T + 1250, 10), [{ call_id: a.id, due_at: T + 100 }, { call_id: b.id, due_at: T + 200 }]);
      assert.equal(await store.nextTimerDue(), T + 1250, 'a held timer is next looked at when its lease runs out');
      assert.deepEqual(await claimed('o2', T + 300), [], 'held by o1');
      assert.deepEqual(await claimed('o2', T + 1249), [], 'held by o1 until T+1250');
      assert.deepEqual(await claimed('o2', T + 1250, 1000, 1), [a.id], 'expired: taken over, limit honoured');
      assert.deepEqual(await claimed('o3', T + 1260, 1000), [b.id]);

      // release: only the owner's own claims go back.
      await store.releaseTimers('o1');
      assert.deepEqual(await claimed('o4', T + 1270), [], 'o1 holds nothing any more');
      await store.releaseTimers('o2');
      assert.deepEqual(await claimed('o4', T + 1280), [a.id]);

      // A write sets the timer anew (unleased, though o3 held it); null clears it.
      b = await timer(T + 1300, b);
      await timer(null, a);
      assert.deepEqual(await claimed('o5', T + 1300, 10_000), [b.id], 'a is cleared, c is not due');
      assert.deepEqual(await claimed('o6', T + 5000, 10_000), [c.id], 'b is held by o5');
      assert.equal(await store.nextTimerDue(), T + 11_300);
      assert.deepEqual(await claimed('o7', T + 11_299), []);
      assert.deepEqual(await claimed('o7', T + 15_000), [b.id, c.id], 'by due time');
    });

    test('deliveries: next_attempt_at is honoured; claiming leases; limit and order', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [later] } = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_a', next: T + 1000 }]);
      const first = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_b', next: T + 30 }]);
      const second = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_c', next: T + 10 }]);
      const third = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_d', next: T + 20 }]);

      assert.equal(await store.nextDeliveryDue(T), T + 10);
      assert.deepEqual(await claim(store, 'o1', T + 9), [], 'nothing due');
      const got = await claim(store, 'o1', T + 100, { limit: 2, lease: 5000 });
      assert.deepEqual(ids(got), [second.ids[0], third.ids[0]], 'the earliest due first, at most `limit`');
      for (const d of got) {
        assert.equal(d.status, 'delivering');
        assert.equal(d.locked_by, 'o1');
        assert.equal(d.locked_until, T + 5100);
        assert.equal(d.attempts, 0);
      }
      assert.equal(await store.nextDeliveryDue(T + 100), T + 1000, 'rows due already are not "next"');
      assert.deepEqual(ids(await claim(store, 'o2', T + 100)), [first.ids[0]]);
      assert.deepEqual(await claim(store, 'o2', T + 999), []);
      assert.deepEqual(ids(await claim(store, 'o2', T + 1000)), [later]);
      assert.equal(await store.nextDeliveryDue(T + 1000), T + 5100, 'next: o1’s lease runs out');

      // The claimed row reads back whole: the request is rendered once and kept byte for byte.
      const d = await getDelivery(store, acct, later!);
      assert.deepEqual(d.request, { method: 'POST', url: 'https://receiver.example/hook', headers: { 'content-type': 'application/json' }, body: '{"seq":1}' });
      assert.equal(d.order_key, 'ep_a');
      assert.equal(d.target_format, 'standard');
      assert.equal(await store.getDelivery(await newAccount(store), later!), undefined, 'another account does not see it');
    });

    test('deliveries: per (order_key, call) in event_seq order; pending or delivering blocks, succeeded or dead frees', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const x = await enqueue(store, acct, T, [{ seq: 1, key: 'k1' }, { seq: 2, key: 'k1' }, { seq: 3, key: 'k1' }, { seq: 1, key: 'k2' }, { seq: 2, key: 'k2' }]);
      const y = await enqueue(store, acct, T, [{ seq: 1, key: 'k1' }, { seq: 2, key: 'k1' }]);
      const [x1, x2, x3, x1b, x2b] = x.ids;
      const [y1, y2] = y.ids;

      let got = await claim(store, 'o1', T);
      assert.deepEqual(sorted(ids(got)), sorted([x1!, x1b!, y1!]), 'only the first event of each (key, call)');
      const by = new Map(got.map((d) => [d.id, d]));
      assert.deepEqual(await claim(store, 'o1', T + 10), [], 'seq 2 waits while seq 1 is delivering');

      // x/k1 seq 1 fails and will be retried later: it is pending, seq 2 still waits.
      await store.recordAttempts([result('o1', by.get(x1!)!, 'pending', T + 20, { next: T + 5000 })], T + 20);
      assert.deepEqual(await claim(store, 'o1', T + 30), [], 'seq 2 waits while seq 1 is pending');
      // x/k2 seq 1 succeeds: x/k2 seq 2 is free. y seq 1 is given up on (dead): y seq 2 is free.
      await store.recordAttempts([result('o1', by.get(x1b!)!, 'succeeded', T + 40), result('o1', by.get(y1!)!, 'dead', T + 40)], T + 40);
      got = await claim(store, 'o1', T + 50);
      assert.deepEqual(sorted(ids(got)), sorted([x2b!, y2!]));
      // x/k1 seq 1 is retried at its time and succeeds: seq 2 next, then seq 3.
      const retried = await claim(store, 'o1', T + 5000);
      assert.deepEqual(ids(retried), [x1]);
      assert.equal(retried[0]!.attempts, 1);
      await store.recordAttempts([result('o1', retried[0]!, 'succeeded', T + 5001)], T + 5001);
      const two = await claim(store, 'o1', T + 5002);
      assert.deepEqual(ids(two), [x2]);
      await store.recordAttempts([result('o1', two[0]!, 'dead', T + 5003)], T + 5003);
      assert.deepEqual(ids(await claim(store, 'o1', T + 5004)), [x3]);
    });

    test('deliveries: the exclude list skips full order keys', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const a = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_a' }]);
      const b = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_b' }]);
      const c = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_c' }]);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: ['ex_a', 'ex_c', 'ex_unknown'] })), [b.ids[0]]);
      assert.deepEqual(await claim(store, 'o1', T, { exclude: ['ex_a', 'ex_c'] }), []);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: ['ex_c'] })), [a.ids[0]]);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: [] })), [c.ids[0]]);
    });

    test('deliveries: an expired lease is taken over; the old owner’s late result changes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [id] } = await enqueue(store, acct, T, [{ seq: 1, key: 'lease_k' }, { seq: 2, key: 'lease_k' }]);
      const [mine] = await claim(store, 'old', T, { lease: 1000 });
      assert.ok(mine);
      assert.equal(mine.id, id);
      assert.deepEqual(await claim(store, 'new', T + 999), [], 'the lease holds until T+1000');
      const [taken] = await claim(store, 'new', T + 1000, { lease: 1000 });
      assert.ok(taken);
      assert.equal(taken.id, id, 'taken over once expired');
      assert.equal(taken.locked_by, 'new');
      assert.equal(taken.locked_until, T + 2000);
      assert.equal(taken.attempts, 0);

      // The old owner finishes late: its result is not allowed to settle the row.
      await store.recordAttempts([result('old', mine, 'succeeded', T + 1100)], T + 1100);
      let row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'delivering');
      assert.equal(row.locked_by, 'new');
      assert.equal(row.locked_until, T + 2000);
      assert.equal(row.attempts, 0);
      assert.equal(row.last_status_code, null);
      assert.deepEqual(await claim(store, 'third', T + 1200), [], 'seq 2 still waits: seq 1 is not settled');

      // The new owner's result settles it.
      await store.recordAttempts([result('new', taken, 'pending', T + 1300, { next: T + 4000, code: 503 })], T + 1300);
      row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'pending');
      assert.equal(row.locked_by, null);
      assert.equal(row.locked_until, null);
      assert.equal(row.attempts, 1);
      assert.equal(row.next_attempt_at, T + 4000);
      assert.equal(row.last_status_code, 503);
      assert.equal(row.last_error, 'HTTP 503');
      assert.equal(row.updated_at, T + 1300);

      // releaseDeliveries hands back what an owner holds, and only that.
      const [again] = await claim(store, 'new', T + 4000);
      assert.equal(again?.id, id);
      await store.releaseDeliveries('someone-else', T + 4001);
      assert.equal((await getDelivery(store, acct, id!)).status, 'delivering');
      await store.releaseDeliveries('new', T + 4002, ['dlv_some_other']);
      assert.equal((await getDelivery(store, acct, id!)).status, 'delivering', 'only the ids named');
      await store.releaseDeliveries('new', T + 4002, [id!]);
      row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'pending');
      assert.equal(row.locked_by, null);
      assert.equal(row.attempts, 1, 'a hand-back is not an attempt');
      assert.deepEqual(ids(await claim(store, 'third', T + 4003)), [id]);
    });

    test('deliveries: recordAttempts settles rows and lists every attempt', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [a, b, c] } = await enqueue(store, acct, T, [{ seq: 1, key: 'ra_a' }, { seq: 1, key: 'ra_b' }, { seq: 1, key: 'ra_c' }]);
      let got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
      assert.equal(got.size, 3);
      // One batch: one success, one retry, one dead (with no answer at all).
      await store.recordAttempts([
        result('o1', got.get(a!)!, 'succeeded', T + 10),
        result('o1', got.get(b!)!, 'pending', T + 10, { next: T + 100, code: 500 }),
        result('o1', got.get(c!)!, 'dead', T + 10, { code: null }),
      ], T + 10);
      const ra = await getDelivery(store, acct, a!);
      assert.deepEqual([ra.status, ra.attempts, ra.last_status_code, ra.last_error, ra.locked_by], ['succeeded', 1, 200, null, null]);
      const rc = await getDelivery(store, acct, c!);
      assert.deepEqual([rc.status, rc.attempts, rc.last_status_code, rc.last_error], ['dead', 1, null, 'connect ECONNREFUSED']);

      got = new Map((await claim(store, 'o1', T + 100)).map((d) => [d.id, d]));
      assert.deepEqual([...got.keys()], [b]);
      const second = result('o1', got.get(b!)!, 'succeeded', T + 110);
      await store.recordAttempts([second], T + 110);
      // The same result again (a repeated flush) neither fails nor adds an attempt.
      await store.recordAttempts([second], T + 111);

      const attempts = await store.listAttempts([b!, a!, c!, 'dlv_unknown']);
      assert.deepEqual(attempts.map((x) => [x.delivery_id, x.attempt]), [[a, 1], [b, 1], [b, 2], [c, 1]], 'by delivery, then attempt');
      const b2 = attempts.find((x) => x.delivery_id === b && x.attempt === 2)!;
      assert.deepEqual(b2, second.attempt);
      const c1 = attempts.find((x) => x.delivery_id === c)!;
      assert.equal(c1.response_headers, null);
      assert.equal(c1.response_excerpt, null);
      assert.equal(c1.status_code, null);
      assert.deepEqual(await store.listAttempts([]), []);
      assert.equal((await getDelivery(store, acct, b!)).attempts, 2);
    });

    test('deliveries: retryDelivery requeues settled rows, not one being attempted', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [a, b] } = await enqueue(store, acct, T, [{ seq: 1, key: 'rt_a' }, { seq: 1, key: 'rt_b' }]);
      const got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
      assert.equal(await store.retryDelivery(acct, a!, T + 1), false, 'being attempted');
      await store.recordAttempts([result('o1', got.get(a!)!, 'succeeded', T + 5), result('o1', got.get(b!)!, 'dead', T + 5)], T + 5);
      assert.equal(await store.retryDelivery(await newAccount(store), a!, T + 6), false, 'another account');
      assert.equal(await store.retryDelivery(acct, 'dlv_unknown', T + 6), false);
      assert.equal(await store.retryDelivery(acct, a!, T + 10), true);
      assert.equal(await store.retryDelivery(acct, b!, T + 20), true);
      const ra = await getDelivery(store, acct, a!);
      assert.deepEqual([ra.status, ra.next_attempt_at, ra.attempts], ['pending', T + 10, 1]);
      assert.deepEqual(ids(await claim(store, 'o2', T + 15)), [a]);
      assert.deepEqual(ids(await claim(store, 'o2', T + 20)), [b]);
      assert.equal((await getDelivery(store, acct, b!)).attempts, 1, 'the attempt count carries on');
    });

    test('listDeliveries: filters, newest first, cursor, account scope', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const x = await enqueue(store, acct, T, [{ seq: 1, target: 'ep_1' }, { seq: 1, target: 'ep_2' }, { seq: 2, target: 'ep_1' }]);
      const y = await enqueue(store, acct, T, [{ seq: 1, target: 'ep_1' }]);
      await enqueue(store, other, T, [{ seq: 1, target: 'ep_1' }]);
      const [x1, x2, x3] = x.ids;
      const [y1] = y.ids;
      const got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
      await store.recordAttempts([result('o1', got.get(x2!)!, 'succeeded', T + 1)], T + 1);

      const list = async (f: Parameters<Store['listDeliveries']>[1], limit = 50, afterId: string | null = null): Promise<string[]> =>
        ids(await store.listDeliveries(acct, f, limit, afterId));
      assert.deepEqual(await list({}), [y1, x3, x2, x1]);
      assert.deepEqual(await list({ call_id: x.call.id }), [x3, x2, x1]);
      assert.deepEqual(await list({ target_id: 'ep_1' }), [y1, x3, x1]);
      assert.deepEqual(await list({ status: 'succeeded' }), [x2]);
      assert.deepEqual(await list({ status: 'delivering' }), [y1, x1]);
      assert.deepEqual(await list({ status: 'pending' }), [x3]);
      assert.deepEqual(await list({ call_id: x.call.id, target_id: 'ep_1', status: 'pending' }), [x3]);
      assert.deepEqual(await list({}, 3), [y1, x3, x2]);
      assert.deepEqual(await list({}, 3, x2!), [x1]);
      assert.deepEqual(await list({ target_id: 'ep_1' }, 1, x3!), [x1]);
      assert.equal((await store.listDeliveries(other, {}, 50, null)).length, 1);
    });

    test('resources: put, get, list, delete; every write bumps the account’s version', async () => {
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const v0 = await store.resourcesVersion(acct);
      const res = (id: string, kind: string, doc: Record<string, unknown>): Resource => ({
        id, account_id: acct, kind, doc, enabled: true, disabled_reason: null, created_at: 100, updated_at: 100, last_success_at: null, failing_since: null,
      });
      const ep1 = res(newId('ep'), 'endpoint', { url: 'https://a.example/hook', secrets: ['whsec_x'], nested: { n: 1 } });
      const ep2 = res(newId('ep'), 'endpoint', { url: 'https://b.example/hook' });
      const prof = res(newId('cbp'), 'callback_profile', { url: 'https://c.example/' });
      for (const r of [ep2, ep1, prof]) await store.putResource(r);
      assert.equal(await store.resourcesVersion(acct), v0 + 3);
      assert.equal(await store.resourcesVersion(other), 0, 'other accounts are untouched');
      assert.equal(await store.resourcesVersion('acct_unknown'), 0);

      assert.deepEqual(await store.getResource(acct, 'endpoint', ep1.id), ep1);
      assert.equal(await store.getResource(acct, 'callback_profile', ep1.id), undefined, 'kind is part of the key');
      assert.equal(await store.getResource(other, 'endpoint', ep1.id), undefined, 'account is part of the key');
      assert.deepEqual(await store.listResources(acct, 'endpoint'), [ep1, ep2].sort((x, y) => (x.id < y.id ? -1 : 1)));
      assert.deepEqual(await store.listResources(acct, 'callback_profile'), [prof]);
      assert.deepEqual(await store.listResources(other, 'endpoint'), []);

      const changed = { ...ep1, doc: { url: 'https://a2.example/hook' }, enabled: false, disabled_reason: 'by the user', updated_at: 200 };
      await store.putResource(changed);
      assert.deepEqual(await store.getResource(acct, 'endpoint', ep1.id), changed);
      assert.equal(await store.resourcesVersion(acct), v0 + 4);

      assert.equal(await store.deleteResource(acct, 'endpoint', ep1.id), true);
      assert.equal(await store.resourcesVersion(acct), v0 + 5);
      assert.equal(await store.getResource(acct, 'endpoint', ep1.id), undefined);
      assert.equal(await store.deleteResource(acct, 'endpoint', ep1.id), false, 'already gone');
      assert.equal(await store.deleteResource(other, 'endpoint', ep2.id), false, 'not its own');
      assert.equal(await store.deleteResource(acct, 'callback_profile', ep2.id), false, 'wrong kind');
      assert.equal(await store.resourcesVersion(acct), v0 + 5, 'a delete that deletes nothing bumps nothing');
      assert.deepEqual(ids(await store.listResources(acct, 'endpoint')), [ep2.id]);
    });

    test('target health: success sets last_success_at, failure sets failing_since, a disable_reason disables', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const target = newId('ep');
      const r: Resource = {
        id: target, account_id: acct, kind: 'endpoint', doc: { url: 'https://a.example/' }, enabled: true, disabled_reason: null,
        created_at: T, updated_at: T, last_success_at: null, failing_since: null,
      };
      await store.putResource(r);
      const v = await store.resourcesVersion(acct);
      const health = async (): Promise<Partial<Resource>> => {
        const x = (await store.getResource(acct, 'endpoint', target))!;
        return { enabled: x.enabled, disabled_reason: x.disabled_reason, last_success_at: x.last_success_at, failing_since: x.failing_since };
      };
      const one = async (status: AttemptResult['status'], now: number, o: { disable?: string } = {}): Promise<void> => {
        await enqueue(store, acct, now, [{ seq: 1, key: `${target}_${now}`, target }]);
        const got = await claim(store, 'o1', now);
        assert.equal(got.length, 1);
        await store.recordAttempts([result('o1', got[0]!, status, now, { next: now + DAY, ...o })], now);
      };

      await one('pending', T + 10);
      assert.deepEqual(await health(), { enabled: true, disabled_reason: null, last_success_at: null, failing_since: T + 10 });
      await one('dead', T + 20);
      assert.deepEqual(await health(), { enabled: true, disabled_reason: null, last_success_at: null, failing_since: T + 10 }, 'failing since the first failure');
      await one('succeeded', T + 30);
      assert.deepEqual(await health(), { enabled: true, disabled_reason: null, last_success_at: T + 30, failing_since: null });
      assert.equal(await store.resourcesVersion(acct), v, 'health is bookkeeping, not configuration');
      await one('pending', T + 40);
      assert.deepEqual(await health(), { enabled: true, disabled_reason: null, last_success_at: T + 30, failing_since: T + 40 });
      await one('dead', T + 50, { disable: 'the target answered 410 Gone' });
      assert.deepEqual(await health(), { enabled: false, disabled_reason: 'the target answered 410 Gone', last_success_at: T + 30, failing_since: T + 40 });
      assert.equal(await store.resourcesVersion(acct), v + 1, 'disabling is a configuration change: caches reload');
    });

    test('target health: within one batch of results the later one wins', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const health = async (target: string): Promise<[number | null, number | null]> => {
        const x = (await store.getResource(acct, 'endpoint', target))!;
        return [x.last_success_at, x.failing_since];
      };
      for (const [order, expected] of [[['pending', 'succeeded'], null], [['succeeded', 'pending'], T]] as const) {
        const target = newId('ep');
        await store.putResource({
          id: target, account_id: acct, kind: 'endpoint', doc: {}, enabled: true, disabled_reason: null,
          created_at: T, updated_at: T, last_success_at: null, failing_since: null,
        });
        await enqueue(store, acct, T, [{ seq: 1, key: `${target}_a`, target }, { seq: 1, key: `${target}_b`, target }]);
        const got = await claim(store, 'o1', T);
        assert.equal(got.length, 2);
        await store.recordAttempts(got.map((d, i) => result('o1', d, order[i]!, T, { next: T + DAY })), T);
        assert.deepEqual(await health(target), [T, expected], `results ${order.join(' then ')}`);
      }
    });

    test('a new call whose id or external id is taken is refused with a unique-key error, and writes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const first = makeCall(acct, { external_id: 'ext-dup' });
      assert.equal(await store.writeCall({ call: first, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), true);
      // CallService reads this error as "someone else made the call first" and re-reads it.
      for (const again of [makeCall(acct, { external_id: 'ext-dup', last_seq: 1 }), { ...first, external_id: null, last_seq: 1 }]) {
        await assert.rejects(
          store.writeCall({ call: again, expected_version: null, events: [makeEvent(again, 1)], timer_due_at: T, deliveries: [makeDelivery(again, { seq: 1 }, T)], ingest_event_id: `evt-${again.id}` }),
          (err: unknown) => /UNIQUE|unique|duplicate/.test(String(err)),
        );
        assert.equal(await store.getIngested(acct, `evt-${again.id}`), undefined);
        assert.deepEqual(await store.listEvents([again.id]), []);
        assert.deepEqual(await store.claimTimers('o1', T, T + 1, 10), []);
        assert.deepEqual(await claim(store, 'o1', T), []);
      }
      assert.deepEqual(await store.getCall(acct, first.id), first);
    });

    if (backend.shared) {
      test('a schema with a name of the longest length still writes, and its LISTEN hears the writes', async () => {
        const p = pgStore(`hl_long_${'x'.repeat(37)}`);
        try {
          assert.equal(p.schema.length, 63);
          await p.store.migrate();
          const other = p.another();
          let woken = 0;
          await other.listen!(() => woken++);
          const before = woken;
          const acct = await newAccount(p.store);
          const call = makeCall(acct);
          assert.equal(await p.store.writeCall({ call, expected_version: null, events: [], timer_due_at: 1, deliveries: [makeDelivery(call, { seq: 1 }, 1)] }), true);
          await waitFor(() => woken > before, 5000, 'a notification on the other store');
        } finally {
          await p.cleanup();
        }
      });

      test('two owners claiming timers at once never get the same call', async () => {
        const T = epoch();
        const acct = await newAccount(store);
        const callIds = new Set<string>();
        for (let i = 0; i < 100; i++) {
          const call = makeCall(acct);
          assert.equal(await store.writeCall({ call, expected_version: null, events: [], timer_due_at: T + (i % 10), deliveries: [] }), true);
          callIds.add(call.id);
        }
        const stores = [store, h.another!()];
        const claimedBy = new Map<string, string>();
        const take = async (i: number): Promise<number> => {
          const owner = `timer_owner_${i % 2}`;
          const got = await stores[i % 2]!.claimTimers(owner, T + 10, T + 60_000, 7);
          for (const c of got) {
            assert.equal(claimedBy.get(c.call_id), undefined, `timer of ${c.call_id} claimed by ${claimedBy.get(c.call_id)} and ${owner}`);
            claimedBy.set(c.call_id, owner);
          }
          return got.length;
        };
        await Promise.all(Array.from({ length: 30 }, (_, i) => take(i)));
        // Then until nothing is left, still two at a time.
        for (let i = 0; ; i += 2) {
          const [a, b] = await Promise.all([take(i), take(i + 1)]);
          if (a + b === 0) break;
        }
        assert.deepEqual([...claimedBy.keys()].sort(), [...callIds].sort());
      });

      test('two owners claiming at once never get the same delivery, and per-call order holds', async () => {
        const T = epoch();
        const acct = await newAccount(store);
        const stores = [store, h.another!()];
        const owners = ['owner_a', 'owner_b'];
        // 60 calls × 3 events over 4 order keys: 180 deliveries, 60 of them claimable at first.
        const seqOf = new Map<string, { call: string; key: string; seq: number }>();
        for (let i = 0; i < 60; i++) {
          const key = `conc_${i % 4}`;
          const { call, ids: got } = await enqueue(store, acct, T, [1, 2, 3].map((seq) => ({ seq, key })));
          got.forEach((id, j) => seqOf.set(id, { call: call.id, key, seq: j + 1 }));
        }
        const total = seqOf.size;

        // Round 1: forty claims at once, twenty from each store/owner, nothing settled.
        const rounds = await Promise.all(Array.from({ length: 40 }, (_, i) => claim(stores[i % 2]!, owners[i % 2]!, T + 1, { limit: 5 })
          .then((ds) => ds.map((d) => ({ owner: owners[i % 2]!, d })))));
        const first = rounds.flat();
        const seen = new Map<string, string>();
        for (const { owner, d } of first) {
          assert.equal(seen.get(d.id), undefined, `delivery ${d.id} claimed twice (${seen.get(d.id)} and ${owner})`);
          seen.set(d.id, owner);
          assert.equal(d.locked_by, owner);
          assert.equal(seqOf.get(d.id)?.seq, 1, 'only first events are claimable while nothing is settled');
        }
        assert.ok(first.length > 0);

        // Round 2: both owners work through everything at once, claiming and settling; a later
        // event may be claimed only once the earlier one's settle has been sent.
        const settleSent = new Set<string>();
        const claimedBy = new Map<string, string>(seen);
        const held: Record<string, Delivery[]> = { owner_a: [], owner_b: [] };
        for (const { owner, d } of first) held[owner]!.push(d);
        const earlier = new Map<string, string>();
        for (const [id, s] of seqOf) if (s.seq > 1) earlier.set(id, [...seqOf].find(([, t]) => t.call === s.call && t.seq === s.seq - 1)![0]);
        const deadline = Date.now() + 60_000;
        let failed = false;
        const worker = async (i: number): Promise<void> => {
          try {
            await work(i);
          } catch (err) {
            failed = true;
            throw err;
          }
        };
        const work = async (i: number): Promise<void> => {
          const owner = owners[i]!;
          let now = T + 2;
          while (!failed && settleSent.size < total) {
            assert.ok(Date.now() < deadline, `stuck: ${settleSent.size} of ${total} settled`);
            const mine = held[owner]!.splice(0);
            if (mine.length > 0) {
              for (const d of mine) settleSent.add(d.id);
              await stores[i]!.recordAttempts(mine.map((d) => result(owner, d, 'succeeded', now)), now);
            }
            const got = await claim(stores[i]!, owner, ++now, { limit: 7 });
            for (const d of got) {
              assert.equal(claimedBy.get(d.id), undefined, `delivery ${d.id} claimed by ${claimedBy.get(d.id)} and again by ${owner}`);
              claimedBy.set(d.id, owner);
              const prev = earlier.get(d.id);
              if (prev !== undefined) assert.ok(settleSent.has(prev), `seq ${seqOf.get(d.id)!.seq} claimed before seq ${seqOf.get(d.id)!.seq - 1} was settled`);
            }
            held[owner]!.push(...got);
            if (got.length === 0 && mine.length === 0) await new Promise((r) => setImmediate(r));
          }
        };
        await Promise.all([worker(0), worker(1)]);
        assert.equal(claimedBy.size, total, 'every delivery was claimed exactly once');
        const byOwner = [...claimedBy.values()];
        assert.ok(byOwner.includes('owner_a') && byOwner.includes('owner_b'), 'both owners took part');
        const rows = await store.listDeliveries(acct, {}, 1000, null);
        assert.equal(rows.length, total);
        for (const row of rows) {
          assert.equal(row.status, 'succeeded', `${row.id} is ${row.status}`);
          assert.equal(row.attempts, 1, `${row.id} was attempted ${row.attempts} times`);
        }
      });
    }
  });
}
