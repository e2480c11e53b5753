/**
 * Issue 2: API keys and tenants. POST /v1/accounts is for the bootstrap key only; a tenant sees,
 * lists and changes its own calls and nothing else; a missing or wrong key is a 401 everywhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHookline, type TestServer } from './helpers.ts';
import { assertProblem, callCount, createTenant, getCall, listAll, waitEvent, type CallView } from './call-helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

describe('POST /v1/accounts', () => {
  test('with the bootstrap key: 201 with an id and an API key that works', async () => {
    const r = await s.api('POST', '/v1/accounts', { name: 'Acme Telecom' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.id, /^acct_/);
    assert.equal(typeof r.body.api_key, 'string');
    assert.ok(r.body.api_key.length >= 32);
    assert.equal(r.body.name, 'Acme Telecom');
    const list = await s.api('GET', '/v1/calls', undefined, { key: r.body.api_key });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data, []);
    // Two accounts never share a key.
    const other = await createTenant(s.url, 'Acme Telecom');
    assert.notEqual(other.id, r.body.id);
    assert.notEqual(other.api_key, r.body.api_key);
  });

  test('with a tenant key: 403 forbidden, no account made', async () => {
    const t = await createTenant(s.url, 'tenant-a');
    const r = await s.api('POST', '/v1/accounts', { name: 'sneaky' }, { key: t.api_key });
    assertProblem(r, 403, 'forbidden');
    assert.equal(r.body.api_key, undefined);
  });
});

describe('tenant isolation', () => {
  let a: { id: string; api_key: string };
  let b: { id: string; api_key: string };
  let aCalls: CallView[];
  let bootCall: CallView;

  before(async () => {
    a = await createTenant(s.url, 'tenant-a');
    b = await createTenant(s.url, 'tenant-b');
    const long = { ring_ms: 10, talk_ms: 3_600_000 };
    aCalls = [];
    for (const [route, body] of [
      ['/v1/calls', { from: '+15551110001', to: '+15551110002', simulate: long }],
      ['/v1/click-to-call', { from: '+15551110003', to: '+15551110004', simulate: { from: { ring_ms: 10 }, to: long } }],
      ['/v1/inbound-calls', { from: '+15551110005', to: '+15551110006', channel_id: 'chan-a', simulate: long }],
    ] as const) {
      const r = await s.api('POST', route, body, { key: a.api_key });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      aCalls.push(r.body);
    }
    const ing = await s.api('POST', '/v1/call-events', { event_id: 'shared-e1', call_id: 'shared-switch-call', type: 'leg.ringing', from: '+1', to: '+2', direction: 'outbound' }, { key: a.api_key });
    assert.equal(ing.status, 201, JSON.stringify(ing.body));
    aCalls.push(ing.body);
    for (const c of aCalls.slice(0, 3)) await waitEvent(s.url, c.id, (e) => e.type === 'leg.answered' && e.leg !== 'from', { key: a.api_key, what: 'answer' });
    const r = await s.api('POST', '/v1/calls', { from: '+15551119999', to: '+15551119998', simulate: long });
    bootCall = r.body;
  });

  test("another tenant gets 404 not_found for the call, its hangup and its transcript; the call is untouched", async () => {
    for (const c of aCalls) {
      const before = await getCall(s.url, c.id, a.api_key);
      assertProblem(await s.api('GET', `/v1/calls/${c.id}`, undefined, { key: b.api_key }), 404, 'not_found');
      assertProblem(await s.api('POST', `/v1/calls/${c.id}/hangup`, undefined, { key: b.api_key }), 404, 'not_found');
      assertProblem(await s.api('POST', `/v1/calls/${c.id}/transcript`, { type: 'agent', message: 'x' }, { key: b.api_key }), 404, 'not_found');
      // The bootstrap key belongs to the default account: it is not an admin over tenants.
      assertProblem(await s.api('GET', `/v1/calls/${c.id}`), 404, 'not_found');
      assertProblem(await s.api('POST', `/v1/calls/${c.id}/hangup`), 404, 'not_found');
      assert.deepEqual(await getCall(s.url, c.id, a.api_key), before, `call ${c.id} changed`);
    }
    assertProblem(await s.api('GET', `/v1/calls/${bootCall.id}`, undefined, { key: a.api_key }), 404, 'not_found');
    assertProblem(await s.api('POST', `/v1/calls/${bootCall.id}/hangup`, undefined, { key: a.api_key }), 404, 'not_found');
  });

  test('each list shows only its own calls, whatever the filter', async () => {
    const idsA = aCalls.map((c) => c.id).sort();
    assert.deepEqual((await listAll(s.url, '', a.api_key)).map((c) => c.id).sort(), idsA);
    assert.deepEqual(await listAll(s.url, '', b.api_key), []);
    const mine = (await listAll(s.url)).map((c) => c.id);
    assert.ok(mine.includes(bootCall.id));
    for (const id of idsA) assert.ok(!mine.includes(id), `the bootstrap account lists ${id}`);
    for (const q of ['kind=outbound', 'kind=click_to_call', 'direction=inbound', 'channel_id=chan-a', 'external_id=shared-switch-call', 'status=answered']) {
      assert.deepEqual(await listAll(s.url, q, b.api_key), [], `tenant b sees calls with ${q}`);
    }
    // A cursor taken from another account's list leaks nothing either.
    assert.deepEqual((await s.api('GET', `/v1/calls?cursor=${encodeURIComponent('call_zzzzzzzzzzzzzzzzzzzzzzzzzz')}`, undefined, { key: b.api_key })).body.data, []);
  });

  test('the same switch call id and event id in two accounts are two calls', async () => {
    const ev = { event_id: 'shared-e1', call_id: 'shared-switch-call', type: 'leg.ringing', from: '+1', to: '+2', direction: 'outbound' };
    const r = await s.api('POST', '/v1/call-events', ev, { key: b.api_key });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const aIngested = aCalls[3]!;
    assert.notEqual(r.body.id, aIngested.id);
    const end = await s.api('POST', '/v1/call-events', { event_id: 'shared-e2', call_id: 'shared-switch-call', type: 'call.ended', outcome: 'busy' }, { key: b.api_key });
    assert.equal(end.status, 200);
    assert.equal(end.body.id, r.body.id);
    const theirs = await getCall(s.url, aIngested.id, a.api_key);
    assert.equal(theirs.status, 'ringing', "b's end reached a's call");
    // a's call is as a's events left it: initiated (implied by its first ringing event) and ringing
    assert.deepEqual(theirs.events.map((e: { type: string }) => e.type), ['leg.initiated', 'leg.ringing']);
  });

  test('the owner can hang up its own calls', async () => {
    for (const c of aCalls) {
      const r = await s.api('POST', `/v1/calls/${c.id}/hangup`, undefined, { key: a.api_key });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'ended');
    }
    assert.equal((await s.api('POST', `/v1/calls/${bootCall.id}/hangup`)).status, 200);
  });
});

describe('401 unauthorized', () => {
  const ROUTES: [string, string, unknown][] = [
    ['GET', '/v1/calls', undefined],
    ['GET', '/v1/calls/call_x', undefined],
    ['POST', '/v1/calls', { from: '+1', to: '+2' }],
    ['POST', '/v1/click-to-call', { from: '+1', to: '+2' }],
    ['POST', '/v1/inbound-calls', { from: '+1', to: '+2' }],
    ['POST', '/v1/calls/call_x/hangup', undefined],
    ['POST', '/v1/calls/call_x/transcript', { type: 'agent', message: 'x' }],
    ['POST', '/v1/call-events', { event_id: 'e', call_id: 'c', type: 'leg.initiated', from: '+1', to: '+2', direction: 'outbound' }],
    ['POST', '/v1/accounts', { name: 'x' }],
  ];
  const HEADERS: [string, Record<string, string> | null][] = [
    ['no Authorization header', null],
    ['a wrong key', { authorization: 'Bearer hk_not_a_real_key' }],
    ['a near miss of the real key', { authorization: 'Bearer hk_test_bootstrap_key_' }],
    ['Basic auth', { authorization: `Basic ${Buffer.from('hk_test_bootstrap_key:').toString('base64')}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the key without Bearer', { authorization: 'hk_test_bootstrap_key' }],
  ];
  for (const [what, headers] of HEADERS) {
    test(`${what}: every route answers 401 and writes nothing`, async () => {
      const count = await callCount(s.url);
      for (const [method, path, body] of ROUTES) {
        const r = await s.api(method, path, body, { key: null, headers: headers ?? {} });
        assertProblem(r, 401, 'unauthorized');
      }
      assert.equal(await callCount(s.url), count);
    });
  }

  test('authentication comes before body checks', async () => {
    assertProblem(await s.api('POST', '/v1/calls', undefined, { key: null, raw: '{broken' }), 401, 'unauthorized');
    assertProblem(await s.api('POST', '/v1/calls', { nope: 1 }, { key: 'wrong' }), 401, 'unauthorized');
  });

  test('the scheme name is case-insensitive', async () => {
    const r = await s.api('GET', '/v1/calls', undefined, { key: null, headers: { authorization: 'bearer hk_test_bootstrap_key' } });
    assert.equal(r.status, 200);
  });
});
