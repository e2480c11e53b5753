import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHookline, waitFor, type TestServer } from './helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

test('an outbound call plays its scenario and ends once', async () => {
  const created = await s.api('POST', '/v1/calls', { from: '+15550001', to: '+15550002', simulate: { ring_ms: 20, talk_ms: 50 } });
  assert.equal(created.status, 201);
  assert.equal(created.body.status, 'accepted');
  const call = await waitFor(async () => {
    const r = await s.api('GET', `/v1/calls/${created.body.id}`);
    return r.body.status === 'ended' ? r.body : null;
  });
  assert.equal(call.outcome, 'completed');
  assert.deepEqual(call.events.map((e: { type: string }) => e.type), ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
});

test('health and readiness answer', async () => {
  assert.equal((await s.api('GET', '/healthz', undefined, { key: null })).status, 200);
  assert.equal((await s.api('GET', '/readyz', undefined, { key: null })).status, 200);
  const doc = await s.api('GET', '/openapi.json', undefined, { key: null });
  assert.equal(doc.status, 200);
  assert.ok(doc.body.paths['/v1/calls']);
});
