/**
 * Issue 6: the API's behaviours end to end on PostgreSQL. Hookline is built by createHookline over
 * a PostgresStore on a fresh schema (dropped afterwards): a call plays its scenario, deliveries
 * reach a receiver signed and are logged, a failed attempt is retried with the same webhook-id,
 * Idempotency-Key replays, and an `api` process and a `worker` process share the work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { failedTestIsNotDeadWork, recoverInOrder } from './delivery-helpers.ts';
import { Webhook } from 'standardwebhooks';
import { assertEndedTimeline, timeline, waitEnded } from './call-helpers.ts';
import { answer, createEndpoint, deliveries, hooks } from './delivery-helpers.ts';
import { PG_SKIP, pgStore, startHookline, startReceiver, waitFor, type PgSchema, type Receiver, type TestServer } from './helpers.ts';

describe('the API on PostgreSQL', { skip: PG_SKIP }, () => {
  let pg: PgSchema;
  let s: TestServer;
  let rx: Receiver;
  before(async () => {
    pg = pgStore('hl_api');
    s = await startHookline({ retryScheduleMs: [30, 30] }, { store: pg.store });
    rx = await startReceiver();
  });
  after(async () => {
    await s?.stop();
    await rx?.close();
    await pg?.cleanup();
  });

  test('the store is PostgreSQL', async () => {
    assert.equal(s.h.store.backend, 'postgres');
  });

  test('recover sends a target\'s dead deliveries again, each call in order', async () => {
    await recoverInOrder(s);
  });

  test('a failed test delivery is not counted as dead, and is not retried', async () => {
    await failedTestIsNotDeadWork(s);
  });

  test('a call plays its scenario, transcript included', async () => {
    const r = await s.api('POST', '/v1/calls', {
      from: '+15550800001', to: '+15550800002',
      simulate: { ring_ms: 20, talk_ms: 60, transcript: [{ type: 'agent', message: 'hello' }, { type: 'customer', message: 'hi' }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const call = await waitEnded(s.url, r.body.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'completed');
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.transcript', 'call.transcript', 'call.ended']);
    assert.deepEqual(call.transcript.map((l) => l.message), ['hello', 'hi']);
    const list = await s.api('GET', '/v1/calls?limit=10&status=ended');
    assert.ok(list.body.data.some((c: { id: string }) => c.id === r.body.id));
  });

  test('deliveries reach a native endpoint signed, in order, and are logged', async () => {
    const ep = await createEndpoint(s, { url: `${rx.url}/signed` });
    const r = await s.api('POST', '/v1/calls', { from: '+15550800003', to: '+15550800004', simulate: { ring_ms: 10, talk_ms: 20 } });
    assert.equal(r.status, 201);
    const mine = () => rx.requests.filter((q) => q.url === '/signed');
    await waitFor(() => mine().length >= 5, 10_000, 'five deliveries');
    const wh = new Webhook(ep.secret);
    for (const q of mine()) wh.verify(q.body, q.headers as Record<string, string>);
    const got = hooks(mine());
    assert.deepEqual(got.map((h) => [h.call_id, h.seq, h.type]), [
      [r.body.id, 1, 'call.accepted'], [r.body.id, 2, 'leg.initiated'], [r.body.id, 3, 'leg.ringing'], [r.body.id, 4, 'leg.answered'], [r.body.id, 5, 'call.ended'],
    ]);
    const log = await waitFor(async () => {
      const ds = await deliveries(s, { call_id: r.body.id, target_id: ep.id });
      return ds.length === 5 && ds.every((d) => d.status === 'succeeded') ? ds : null;
    }, 10_000, 'the log to show five successes');
    for (const d of log) {
      assert.equal(d.attempts.length, 1);
      assert.equal(d.attempts[0].status_code, 200);
      assert.equal(d.attempts[0].request.headers['webhook-signature'], '[redacted]');
    }
    assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.id}`)).status < 300, true);
  });

  test('a failed attempt is retried with the same webhook-id; a manual retry sends it again', async () => {
    const failing = await startReceiver();
    try {
      const seen = new Map<string, number>();
      failing.respond((q, res) => {
        const id = String(q.headers['webhook-id']);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        answer(res, seen.get(id) === 1 ? 500 : 200);
      });
      const ep = await createEndpoint(s, { url: `${failing.url}/flaky`, events: ['call.accepted'] });
      const r = await s.api('POST', '/v1/calls', { from: '+15550800005', to: '+15550800006', simulate: { ring_ms: 10, talk_ms: 10 } });
      const [d] = await waitFor(async () => {
        const ds = await deliveries(s, { call_id: r.body.id, target_id: ep.id });
        return ds.length === 1 && ds[0].status === 'succeeded' ? ds : null;
      }, 10_000, 'the delivery to succeed on its second attempt');
      assert.deepEqual(d.attempts.map((a: { status_code: number }) => a.status_code), [500, 200]);
      assert.deepEqual(hooks(failing.requests).map((h) => [h.id, h.attempt]), [[d.id, 1], [d.id, 2]]);

      const retry = await s.api('POST', `/v1/deliveries/${d.id}/retry`);
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      await waitFor(() => failing.requests.length === 3, 10_000, 'the manual retry');
      assert.equal(hooks(failing.requests)[2]!.id, d.id);
      const again = await waitFor(async () => {
        const x = await s.api('GET', `/v1/deliveries/${d.id}`);
        return x.body.status === 'succeeded' && x.body.attempts.length === 3 ? x.body : null;
      }, 10_000, 'the third attempt in the log');
      assert.deepEqual(again.attempts.map((a: { attempt: number }) => a.attempt), [1, 2, 3]);
      assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.id}`)).status < 300, true);
    } finally {
      await failing.close();
    }
  });

  test('an Idempotency-Key replays the first answer and makes one call', async () => {
    const body = { from: '+15550800007', to: '+15550800008', simulate: { ring_ms: 10, talk_ms: 10 } };
    const headers = { 'idempotency-key': `pg-${Date.now()}` };
    const [a, b] = await Promise.all([s.api('POST', '/v1/calls', body, { headers }), s.api('POST', '/v1/calls', body, { headers })]);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(b.status, 201, JSON.stringify(b.body));
    assert.equal(a.body.id, b.body.id);
    const c = await s.api('POST', '/v1/calls', body, { headers });
    assert.equal(c.body.id, a.body.id);
    const list = await s.api('GET', '/v1/calls?limit=100&to=%2B15550800008');
    assert.deepEqual(list.body.data.map((x: { id: string }) => x.id), [a.body.id]);
  });
});

describe('an api process and a worker process on one schema', { skip: PG_SKIP }, () => {
  let pg: PgSchema;
  let api: TestServer;
  let worker: TestServer;
  let rx: Receiver;
  before(async () => {
    pg = pgStore('hl_roles');
    api = await startHookline({ role: 'api' }, { store: pg.store });
    worker = await startHookline({ role: 'worker' }, { store: pg.another() });
    rx = await startReceiver();
  });
  after(async () => {
    await api?.stop();
    await worker?.stop();
    await rx?.close();
    await pg?.cleanup();
  });

  test('calls placed through the api process are played and delivered by the worker', async () => {
    await createEndpoint(api, { url: `${rx.url}/roles` });
    const r = await api.api('POST', '/v1/calls', { from: '+15550900001', to: '+15550900002', simulate: { ring_ms: 10, talk_ms: 10 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const call = await waitEnded(api.url, r.body.id);
    assertEndedTimeline(call);
    await waitFor(() => rx.requests.length >= call.events.length, 10_000, 'every event delivered');
    assert.deepEqual(hooks(rx.requests).map((h) => h.seq), call.events.map((e) => e.seq));
    // The worker serves no public API: the api process is the only way in.
    const there = await worker.api('GET', `/v1/calls/${r.body.id}`);
    assert.equal(there.status, 404);
    assert.match(there.body.detail, /this process runs --role worker/, 'and it says why');
  });
});
