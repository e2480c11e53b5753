/**
 * Issue 2: Idempotency-Key on the routes that create a call (SPEC §4). A repeat answers the first
 * answer again, byte for byte, and makes no second call; the key with another body is a 409.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_KEY, startHookline, type TestServer } from './helpers.ts';
import { assertEndedTimeline, assertProblem, callCount, createTenant, listAll, waitEnded } from './call-helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

/** POST answering the raw text too, to compare bodies byte for byte. */
async function post(path: string, body: unknown, idemKey?: string, key = API_KEY) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (idemKey !== undefined) headers['idempotency-key'] = idemKey;
  const res = await fetch(s.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

let n = 0;
const uniqueKey = () => `idem-${process.pid}-${++n}-${Date.now()}`;

const ROUTES = [
  { path: '/v1/calls', body: { from: '+15550100001', to: '+15550100002', simulate: { ring_ms: 0, talk_ms: 30 } } },
  { path: '/v1/click-to-call', body: { from: '+15550100003', to: '+15550100004', simulate: { from: { ring_ms: 0 }, to: { ring_ms: 0, talk_ms: 30 } } } },
  { path: '/v1/inbound-calls', body: { from: '+15550100005', to: '+15550100006', simulate: { ring_ms: 0, talk_ms: 30 } } },
];

for (const r of ROUTES) {
  describe(`POST ${r.path} with Idempotency-Key`, () => {
    test('a repeat answers the same status and the identical body; one call exists', async () => {
      const count = await callCount(s.url);
      const key = uniqueKey();
      const first = await post(r.path, r.body, key);
      assert.equal(first.status, 201, first.text);
      const second = await post(r.path, r.body, key);
      assert.equal(second.status, first.status);
      assert.equal(second.text, first.text);
      assert.equal(second.body.id, first.body.id);
      assert.equal(await callCount(s.url), count + 1);

      // Still the first answer once the call has moved on and ended.
      assertEndedTimeline(await waitEnded(s.url, first.body.id));
      const third = await post(r.path, r.body, key);
      assert.equal(third.status, 201);
      assert.equal(third.text, first.text);
      assert.equal(third.body.status, 'accepted');
      assert.equal(await callCount(s.url), count + 1);
    });

    test('the same key with a different body: 409 idempotency_conflict, nothing written', async () => {
      const key = uniqueKey();
      const first = await post(r.path, r.body, key);
      assert.equal(first.status, 201);
      const count = await callCount(s.url);
      const other = { ...r.body, to: '+15550199999' };
      const res = await s.api('POST', r.path, other, { headers: { 'idempotency-key': key } });
      assertProblem(res, 409, 'idempotency_conflict');
      assert.equal(await callCount(s.url), count);
      // The first answer is still there for a true repeat.
      assert.equal((await post(r.path, r.body, key)).text, first.text);
    });

    test('concurrent repeats make one call and all answer it', async () => {
      const count = await callCount(s.url);
      const key = uniqueKey();
      const answers = await Promise.all(Array.from({ length: 6 }, () => post(r.path, r.body, key)));
      for (const a of answers) {
        assert.equal(a.status, 201, a.text);
        assert.equal(a.text, answers[0]!.text);
      }
      assert.equal(await callCount(s.url), count + 1);
    });
  });
}

test('without a key, the same body makes two calls', async () => {
  const count = await callCount(s.url);
  const a = await post('/v1/calls', ROUTES[0]!.body);
  const b = await post('/v1/calls', ROUTES[0]!.body);
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.notEqual(a.body.id, b.body.id);
  assert.equal(await callCount(s.url), count + 2);
});

test('a refused request does not take the key', async () => {
  const key = uniqueKey();
  const bad = await s.api('POST', '/v1/calls', { from: '+15550100001' }, { headers: { 'idempotency-key': key } });
  assertProblem(bad, 400, 'missing_field', 'to');
  const good = await post('/v1/calls', ROUTES[0]!.body, key);
  assert.equal(good.status, 201, good.text);
});

test('keys are per account: the same key in another account makes its own call', async () => {
  const tenant = await createTenant(s.url, 'idem-tenant');
  const key = uniqueKey();
  const mine = await post('/v1/calls', ROUTES[0]!.body, key);
  const theirs = await post('/v1/calls', ROUTES[0]!.body, key, tenant.api_key);
  assert.equal(mine.status, 201);
  assert.equal(theirs.status, 201, theirs.text);
  assert.notEqual(theirs.body.id, mine.body.id);
  assert.deepEqual((await listAll(s.url, '', tenant.api_key)).map((c) => c.id), [theirs.body.id]);
});
