/**
 * Issue 11, Done-when 3: the seed details live traffic had wrong. Seed 004: an integer `call_id`
 * (the call's per-account `number`) and the call's `source`, given at creation or ingestion;
 * the subscription `template` field refused. (The seed 001 number rule is in
 * push-report.test.ts; the seed 003 groups in call-tracking-format.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { numeric } from '../src/formats/push-report.ts';
import { assertProblem } from './call-helpers.ts';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { newTenant, received, settle, type Tenant } from './account-format-helpers.ts';

const FAST = { ring_ms: 10, talk_ms: 20 };
let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline();
  rx = await startReceiver();
});
after(async () => {
  await s.stop();
  await rx.close();
});

async function call(t: Tenant, path: string, body: Record<string, unknown>): Promise<any> {
  const r = await t.api('POST', path, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('every call gets a per-account number 1, 2, 3 …, shown on the call; ingested calls too', async () => {
  const a = await newTenant(s);
  const b = await newTenant(s);
  const numbers: number[] = [];
  for (let i = 0; i < 3; i++) numbers.push((await call(a, '/v1/calls', { from: '+15550100', to: '+15550199', simulate: FAST })).number);
  assert.deepEqual(numbers, [1, 2, 3]);
  assert.equal((await call(b, '/v1/inbound-calls', { from: '+15550100', to: '+15550199', simulate: FAST })).number, 1, 'another account counts on its own');
  const ingested = await call(a, '/v1/call-events', { event_id: 'e1', call_id: 'sw-1', type: 'call.accepted', from: '+1555', to: '+1556', direction: 'outbound' });
  assert.equal(ingested.number, 4);
  assert.equal((await a.api('GET', `/v1/calls/${ingested.id}`)).body.number, 4);
});

test('seed 004 live events: call_id / call.id is the integer number, source the call’s own (given or by kind)', async () => {
  const t = await newTenant(s);
  const put = await t.api('PUT', '/v1/integrations/custom-webhook', { enabled: true, url: `${rx.url}/seed004` });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const source = 'salprebox:SALPRE_AABBCCDD';
  const placed = await call(t, '/v1/calls', {
    from: '+905555555555', to: '+905555555554', source, simulate: { ...FAST, transcript: [{ type: 'customer', message: 'Hello, how are you?' }] },
  });
  assert.equal(placed.source, source);
  await settle(t, placed.id);
  // ingested: a source given on the first event; and one left to its default
  await call(t, '/v1/call-events', { event_id: 'i1', call_id: 'sw-a', type: 'leg.initiated', from: '+1', to: '+2', direction: 'inbound', source: 'pbx-7' });
  await call(t, '/v1/call-events', { event_id: 'i2', call_id: 'sw-b', type: 'leg.initiated', from: '+1', to: '+2', direction: 'inbound' });
  const calls = (await t.api('GET', '/v1/calls?limit=10')).body.data as { id: string; number: number; source: string; external_id: string | null }[];
  const byNumber = new Map(calls.map((c) => [c.number, c]));
  assert.equal(byNumber.get(2)!.source, 'pbx-7');
  assert.equal(byNumber.get(3)!.source, 'inbound');

  const bodies = received(rx, '/seed004').map((r) => JSON.parse(r.body)).filter((b) => (b.payload.call_id ?? b.payload.call.id) === placed.number);
  assert.deepEqual(bodies.map((b) => b.event_type), ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'call_ended']);
  for (const b of bodies) {
    const facts = b.payload.call ?? b.payload;
    assert.equal(typeof (facts.call_id ?? facts.id), 'number', 'the seed’s integer id');
    assert.equal(facts.source, source);
    assert.equal(b.is_test, false);
  }
  const ingested = await waitFor(() => {
    const got = received(rx, '/seed004').map((r) => JSON.parse(r.body).payload).filter((p) => p.call_id === 2 || p.call_id === 3);
    return got.length === 2 ? got : null;
  }, 10_000, 'the two ingested calls’ call_initiated');
  assert.deepEqual(ingested.map((p) => [p.call_id, p.source]).sort(), [[2, 'pbx-7'], [3, 'inbound']]);
});

test('seed 001 number rule: digits after an optional + go out as numbers, the + dropped; else strings', () => {
  assert.equal(numeric('+918068280001'), 918068280001);
  assert.equal(numeric('918919520001'), 918919520001);
  assert.equal(numeric('123'), 123);
  assert.equal(numeric(123), 123);
  assert.equal(numeric(null), null);
  for (const kept of ['0044207', '+0044', 'sip:agent@example.com', 'anonymous', '+', '', '12 34', '99999999999999999999']) assert.equal(numeric(kept), kept);
});

test('the subscription template field is refused, not stored and ignored', async () => {
  const t = await newTenant(s);
  const body = { service: 'channels', event: 'voice.inbound', url: `${rx.url}/sub` };
  assertProblem(await t.api('POST', '/v1/subscriptions', { ...body, template: '{"x": 1}' }), 400, 'unknown_field', 'template');
  const made = await t.api('POST', '/v1/subscriptions', body);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal('template' in made.body, false);
  assertProblem(await t.api('PATCH', `/v1/subscriptions/${made.body.id}`, { template: null }), 400, 'unknown_field', 'template');
});
