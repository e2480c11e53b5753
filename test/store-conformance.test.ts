/**
 * Issue 6 / SPEC §7: one storage contract, one conformance suite over every backend — accounts,
 * calls, events, idempotency, resources and target health. Queue claims are in store-queue.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Call } from '../src/calls/model.ts';
import type { AttemptResult, CallWrite, Resource, Store } from '../src/store/contract.ts';
import { newId } from '../src/ids.ts';
import { BACKENDS, DAY, claim, enqueue, epoch, ids, makeCall, makeDelivery, makeEvent, newAccount, result, type Opened, openForSuite } from './store-harness.ts';
import { pgStore } from './helpers.ts';


for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: storage conformance: calls and resources`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: storage conformance: calls and resources`, () => {
    let h: Opened;
    let store: Store;
    openForSuite(backend, (o) => {
      h = o;
      store = o.store;
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

    // (an in-memory store has no storage to open again)
    if (!backend.name.includes('memory')) test('call numbers given at once are stored by the time a later write is: another store goes on after the last', async () => {
      const acct = await newAccount(store);
      const given = await Promise.all([store.nextCallNumber(acct), store.nextCallNumber(acct), store.nextCallNumber(acct)]);
      assert.deepEqual([...given].sort(), [1, 2, 3]);
      await enqueue(store, acct, epoch(), []);
      const other = h.another!();
      await other.migrate();
      assert.equal(await other.nextCallNumber(acct), 4);
    });

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
      assert.equal(await store.writeCall(first), 'written');
      assert.deepEqual(await store.getCall(acct, call.id), call);
      assert.deepEqual(await store.getCall(null, call.id), call);
      assert.equal(await store.getCall(other, call.id), undefined, 'another account does not see it');
      assert.deepEqual(await store.getCallByExternalId(acct, `ext_${acct}`), call);
      assert.equal(await store.getCallByExternalId(other, `ext_${acct}`), undefined);
      assert.deepEqual(await store.listEvents([call.id]), [makeEvent(call, 1)]);

      const v2 = { ...call, status: 'ringing' as const, version: 2, last_seq: 2 };
      assert.equal(await store.writeCall({ call: v2, expected_version: 1, events: [makeEvent(call, 2, { type: 'leg.ringing', leg: 'main' })], timer_due_at: T + 200, deliveries: [makeDelivery(call, { seq: 2 }, T)] }), 'written');
      assert.deepEqual(await store.getCall(acct, call.id), v2);

      // Stale: read at version 1, written after version 2. Nothing of it lands: not the call, its
      // events, its deliveries, its timer or its idempotency key.
      const stale = { ...call, status: 'ended' as const, outcome: 'busy' as const, version: 2, last_seq: 3 };
      const ok = await store.writeCall({
        call: stale, expected_version: 1, events: [makeEvent(call, 3, { type: 'call.ended' })], timer_due_at: null,
        deliveries: [makeDelivery(call, { seq: 3 }, T)], idempotency: { route: 'POST /v1/calls/x/hangup', key: 'stale-key', request_hash: 'h', status: 200, body: '{}' },
      });
      assert.equal(ok, 'stale');
      assert.deepEqual(await store.getCall(acct, call.id), v2);
      assert.deepEqual((await store.listEvents([call.id])).map((e) => e.seq), [1, 2]);
      assert.deepEqual((await store.listDeliveries(acct, { call_id: call.id }, 10, null)).map((d) => d.event_seq), [2, 1]);
      assert.equal(await store.getIdempotent(acct, 'POST /v1/calls/x/hangup', 'stale-key'), undefined);
      assert.deepEqual((await store.claimTimers('o_stale', T + 200, T + 300, 10)).map((t) => t.call_id), [call.id], 'the timer is still set');

      // An update of a call that does not exist answers false as well.
      const ghost = makeCall(acct, { version: 2 });
      assert.equal(await store.writeCall({ call: ghost, expected_version: 1, events: [], timer_due_at: null, deliveries: [] }), 'stale');
      assert.equal(await store.getCall(acct, ghost.id), undefined);
    });

    test('an idempotency key clash answers false and writes nothing; keys are per account and route', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const idem = { route: 'POST /v1/calls', key: 'k-1', request_hash: 'hash-a', status: 201, body: '{"id":"first"}' };
      const a = makeCall(acct, { last_seq: 1 });
      assert.equal(await store.writeCall({ call: a, expected_version: null, events: [makeEvent(a, 1)], timer_due_at: null, deliveries: [], idempotency: idem }), 'written');
      assert.deepEqual(await store.getIdempotent(acct, 'POST /v1/calls', 'k-1'), { request_hash: 'hash-a', status: 201, body: '{"id":"first"}' });

      const b = makeCall(acct, { last_seq: 1 });
      const clash = await store.writeCall({
        call: b, expected_version: null, events: [makeEvent(b, 1)], timer_due_at: T, deliveries: [makeDelivery(b, { seq: 1 }, T)],
        idempotency: { ...idem, request_hash: 'hash-b', body: '{"id":"second"}' },
      });
      assert.equal(clash, 'key_taken');
      assert.equal(await store.getCall(acct, b.id), undefined);
      assert.deepEqual(await store.listEvents([b.id]), []);
      assert.deepEqual(await store.listDeliveries(acct, { call_id: b.id }, 10, null), []);
      assert.equal((await store.getIdempotent(acct, 'POST /v1/calls', 'k-1'))?.body, '{"id":"first"}');

      // The same key on another route, or in another account, is another key.
      const c = makeCall(acct);
      assert.equal(await store.writeCall({ call: c, expected_version: null, events: [], timer_due_at: null, deliveries: [], idempotency: { ...idem, route: 'POST /v1/click-to-call' } }), 'written');
      const d = makeCall(other);
      assert.equal(await store.writeCall({ call: d, expected_version: null, events: [], timer_due_at: null, deliveries: [], idempotency: idem }), 'written');
      assert.equal(await store.getIdempotent(acct, 'POST /v1/other', 'k-1'), undefined);
    });

    test('an ingest event id clash answers false and writes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const a = makeCall(acct, { driver_state: { driver: 'external', state: null }, external_id: 'sw-1', last_seq: 1 });
      assert.equal(await store.writeCall({ call: a, expected_version: null, events: [makeEvent(a, 1)], timer_due_at: null, deliveries: [], ingest_event_ids: ['evt-1'] }), 'written');
      assert.equal(await store.getIngested(acct, 'evt-1'), a.id);
      assert.equal(await store.getIngested(other, 'evt-1'), undefined);

      // The same event id again, on an update of the same call: refused, nothing written.
      const a2 = { ...a, status: 'ringing' as const, version: 2, last_seq: 2 };
      assert.equal(await store.writeCall({ call: a2, expected_version: 1, events: [makeEvent(a, 2)], timer_due_at: T, deliveries: [makeDelivery(a, { seq: 2 }, T)], ingest_event_ids: ['evt-1'] }), 'key_taken');
      assert.deepEqual(await store.getCall(acct, a.id), a);
      assert.deepEqual((await store.listEvents([a.id])).map((e) => e.seq), [1]);
      assert.deepEqual(await store.listDeliveries(acct, { call_id: a.id }, 10, null), []);

      // Refused after some of its keys went in (a later id clashes; the version is stale): none
      // of its keys stay behind, so they are free for the write that is not refused.
      assert.equal(await store.writeCall({ call: a2, expected_version: 1, events: [makeEvent(a, 2)], timer_due_at: null, deliveries: [], ingest_event_ids: ['evt-2', 'evt-1'] }), 'key_taken');
      assert.equal(await store.getIngested(acct, 'evt-2'), undefined);
      assert.equal(await store.writeCall({
        call: { ...a2, version: 3 }, expected_version: 2, events: [makeEvent(a, 2)], timer_due_at: null, deliveries: [], ingest_event_ids: ['evt-2', 'evt-3'],
        idempotency: { route: 'POST /v1/call-events', key: 'stale-ingest', request_hash: 'h', status: 200, body: '{}' },
      }), 'stale');
      assert.equal(await store.getIngested(acct, 'evt-2'), undefined);
      assert.equal(await store.getIngested(acct, 'evt-3'), undefined);
      assert.equal(await store.getIdempotent(acct, 'POST /v1/call-events', 'stale-ingest'), undefined);

      // A new event id on the same call goes in; the same id in another account too.
      assert.equal(await store.writeCall({ call: a2, expected_version: 1, events: [makeEvent(a, 2)], timer_due_at: null, deliveries: [], ingest_event_ids: ['evt-2'] }), 'written');
      assert.equal(await store.getIngested(acct, 'evt-2'), a.id);
      const b = makeCall(other, { driver_state: { driver: 'external', state: null } });
      assert.equal(await store.writeCall({ call: b, expected_version: null, events: [], timer_due_at: null, deliveries: [], ingest_event_ids: ['evt-1'] }), 'written');
      assert.equal(await store.getIngested(other, 'evt-1'), b.id);
    });

    test('ingest event ids kept with their events (ingest_seqs) clash with each other and with ids kept apart', async () => {
      const acct = await newAccount(store);
      const a = makeCall(acct, { driver_state: { driver: 'external', state: null }, external_id: 'sw-seq', last_seq: 2 });
      const written = await store.writeCall({
        call: a, expected_version: null, events: [makeEvent(a, 1), makeEvent(a, 2, { type: 'leg.ringing' })], timer_due_at: null, deliveries: [],
        ingest_event_ids: ['on-2', 'apart'], ingest_seqs: [2],
      });
      assert.equal(written, 'written');
      assert.equal(await store.getIngested(acct, 'on-2'), a.id);
      assert.equal(await store.getIngested(acct, 'apart'), a.id);
      assert.deepEqual((await store.listEvents([a.id])).map((e) => [e.seq, e.type]), [[1, 'call.accepted'], [2, 'leg.ringing']]);

      // Another call with either id, with or without an event for it: refused, nothing left of it.
      for (const [ids, seqs] of [[['on-2'], [1]], [['on-2'], undefined], [['fresh', 'apart'], [1, 1]], [['fresh', 'apart'], undefined]] as const) {
        const b = makeCall(acct, { driver_state: { driver: 'external', state: null }, last_seq: 1 });
        const w = { call: b, expected_version: null, events: [makeEvent(b, 1)], timer_due_at: null, deliveries: [], ingest_event_ids: [...ids], ...(seqs ? { ingest_seqs: [...seqs] } : {}) };
        assert.equal(await store.writeCall(w), 'key_taken', `${ids} ${seqs}`);
        assert.equal(await store.getCall(acct, b.id), undefined);
        assert.equal(await store.getIngested(acct, 'fresh'), undefined);
      }
      // A refusal after the ids were looked up (stale) leaves the ids free.
      const stale = { ...a, version: 9, last_seq: 3 };
      assert.equal(await store.writeCall({ call: stale, expected_version: 5, events: [makeEvent(a, 3, { type: 'leg.answered' })], timer_due_at: null, deliveries: [], ingest_event_ids: ['on-3'], ingest_seqs: [3] }), 'stale');
      assert.equal(await store.getIngested(acct, 'on-3'), undefined);
      assert.equal(await store.writeCall({ call: { ...a, version: 2, last_seq: 3 }, expected_version: 1, events: [makeEvent(a, 3, { type: 'leg.answered' })], timer_due_at: null, deliveries: [], ingest_event_ids: ['on-3'], ingest_seqs: [3] }), 'written');
      assert.equal(await store.getIngested(acct, 'on-3'), a.id);
    });

    test('a write that fails half way leaves nothing, and the writes beside it in the same commit land', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const a = makeCall(acct, { last_seq: 1 });
      assert.equal(await store.writeCall({ call: a, expected_version: null, events: [makeEvent(a, 1)], timer_due_at: null, deliveries: [] }), 'written');
      const writeBeside = (i: number) => {
        const c = makeCall(acct, { last_seq: 1 });
        return { c, written: store.writeCall({ call: c, expected_version: null, events: [makeEvent(c, 1)], timer_due_at: T, deliveries: [makeDelivery(c, { seq: 1 }, T)], ingest_event_ids: [`beside-${i}`] }) };
      };
      // All four in one turn, so in one group commit: one written before the broken one, two after.
      const beside = [writeBeside(0)];
      // Its call row updates, then its event clashes with the stored seq 1: an error, not a refusal.
      const broken = store.writeCall({
        call: { ...a, status: 'ringing', version: 2, last_seq: 2 }, expected_version: 1, events: [makeEvent(a, 1, { type: 'leg.ringing' })],
        timer_due_at: T, deliveries: [makeDelivery(a, { seq: 1 }, T)], ingest_event_ids: ['half-1'],
      });
      beside.push(writeBeside(1), writeBeside(2));
      await assert.rejects(broken);
      for (const b of beside) assert.equal(await b.written, 'written');
      assert.deepEqual(await store.getCall(acct, a.id), a);
      assert.equal(await store.getIngested(acct, 'half-1'), undefined);
      assert.deepEqual(await store.listDeliveries(acct, { call_id: a.id }, 10, null), []);
      for (const [i, b] of beside.entries()) {
        assert.equal((await store.getCall(acct, b.c.id))?.version, b.c.version);
        assert.equal(await store.getIngested(acct, `beside-${i}`), b.c.id);
      }
      // the queue holds the deliveries beside it, and only those
      const claimed = await claim(store, 'o_half', T + 1);
      assert.deepEqual(claimed.map((d) => d.call_id).sort(), beside.map((b) => b.c.id).sort());
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
        assert.equal(await store.writeCall({ call: c, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), 'written');
        calls.push(c);
      }
      const foreign = makeCall(other, specs[0]);
      assert.equal(await store.writeCall({ call: foreign, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), 'written');
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
      assert.equal(await store.writeCall({ call: { ...a, last_seq: 1 }, expected_version: null, events: aEvents.slice(0, 1), timer_due_at: null, deliveries: [] }), 'written');
      assert.equal(await store.writeCall({ call: { ...a, version: 2 }, expected_version: 1, events: aEvents.slice(1), timer_due_at: null, deliveries: [] }), 'written');
      const bEvents = [makeEvent(b, 1, { type: 'call.ended', data: { outcome: 'busy' } })];
      assert.equal(await store.writeCall({ call: b, expected_version: null, events: bEvents, timer_due_at: null, deliveries: [] }), 'written');

      assert.deepEqual(await store.listEvents([a.id]), aEvents);
      const both = await store.listEvents([b.id, a.id, 'call_unknown']);
      const byCall = [...aEvents, ...bEvents].sort((x, y) => (x.call_id < y.call_id ? -1 : x.call_id > y.call_id ? 1 : x.seq - y.seq));
      assert.deepEqual(both, byCall);
      assert.deepEqual(await store.listEvents([]), []);
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

    test('resources: put, get, list, delete', async () => {
      const acct = await newAccount(store);
      const other = await newAccount(store);
      const res = (id: string, kind: string, doc: Record<string, unknown>): Resource => ({
        id, account_id: acct, kind, doc, enabled: true, disabled_reason: null, created_at: 100, updated_at: 100, last_success_at: null, failing_since: null,
      });
      const ep1 = res(newId('ep'), 'endpoint', { url: 'https://a.example/hook', secrets: ['whsec_x'], nested: { n: 1 } });
      const ep2 = res(newId('ep'), 'endpoint', { url: 'https://b.example/hook' });
      const prof = res(newId('cbp'), 'callback_profile', { url: 'https://c.example/' });
      for (const r of [ep2, ep1, prof]) await store.putResource(r);

      assert.deepEqual(await store.getResource(acct, 'endpoint', ep1.id), ep1);
      assert.equal(await store.getResource(acct, 'callback_profile', ep1.id), undefined, 'kind is part of the key');
      assert.equal(await store.getResource(other, 'endpoint', ep1.id), undefined, 'account is part of the key');
      assert.deepEqual(await store.listResources(acct, 'endpoint'), [ep1, ep2].sort((x, y) => (x.id < y.id ? -1 : 1)));
      assert.deepEqual(await store.listResources(acct, 'callback_profile'), [prof]);
      assert.deepEqual(await store.listResources(other, 'endpoint'), []);

      const changed = { ...ep1, doc: { url: 'https://a2.example/hook' }, enabled: false, disabled_reason: 'by the user', updated_at: 200 };
      await store.putResource(changed);
      assert.deepEqual(await store.getResource(acct, 'endpoint', ep1.id), changed);

      assert.equal(await store.deleteResource(acct, 'endpoint', ep1.id), true);
      assert.equal(await store.getResource(acct, 'endpoint', ep1.id), undefined);
      assert.equal(await store.deleteResource(acct, 'endpoint', ep1.id), false, 'already gone');
      assert.equal(await store.deleteResource(other, 'endpoint', ep2.id), false, 'not its own');
      assert.equal(await store.deleteResource(acct, 'callback_profile', ep2.id), false, 'wrong kind');
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
      await one('pending', T + 40);
      assert.deepEqual(await health(), { enabled: true, disabled_reason: null, last_success_at: T + 30, failing_since: T + 40 });
      await one('dead', T + 50, { disable: 'the target answered 410 Gone' });
      assert.deepEqual(await health(), { enabled: false, disabled_reason: 'the target answered 410 Gone', last_success_at: T + 30, failing_since: T + 40 });
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

    test('a new call whose id or external id is taken is refused as call_exists, and writes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const first = makeCall(acct, { external_id: 'ext-dup' });
      assert.equal(await store.writeCall({ call: first, expected_version: null, events: [], timer_due_at: null, deliveries: [] }), 'written');
      // CallService reads this as "someone else made the call first" and re-reads it.
      for (const again of [makeCall(acct, { external_id: 'ext-dup', last_seq: 1 }), { ...first, external_id: null, last_seq: 1 }]) {
        assert.equal(
          await store.writeCall({ call: again, expected_version: null, events: [makeEvent(again, 1)], timer_due_at: T, deliveries: [makeDelivery(again, { seq: 1 }, T)], ingest_event_ids: [`evt-${again.id}`] }),
          'call_exists',
        );
        assert.equal(await store.getIngested(acct, `evt-${again.id}`), undefined);
        assert.deepEqual(await store.listEvents([again.id]), []);
        assert.deepEqual(await store.claimTimers('o1', T, T + 1, 10), []);
        assert.deepEqual(await claim(store, 'o1', T), []);
      }
      assert.deepEqual(await store.getCall(acct, first.id), first);
    });
  });
}
