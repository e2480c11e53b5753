/**
 * SPEC: "any target of any format may carry a Standard Webhooks signing secret" — the per-call
 * formats too: a seed-000 callback profile and a seed-001 webhook take `secret` (whsec_…) like
 * every other kind; their live requests then carry webhook-id, webhook-timestamp and
 * webhook-signature, verified here with the standardwebhooks package. The secret is never shown
 * back, and `secret: null` removes it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newSecret, headerRecord } from './account-format-helpers.ts';
import { waitEnded } from './call-helpers.ts';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { waitSettled } from './per-call-helpers.ts';

let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline({ retryScheduleMs: [30, 30, 30] });
  rx = await startReceiver();
});
after(async () => {
  await s.stop();
  await rx.close();
});

test('a callback profile and a push-report webhook sign with their Standard Webhooks secret', async () => {
  const secret = newSecret();
  const p = await s.api('POST', '/v1/callback-profiles', { name: 'signed', url: `${rx.url}/signed/profile`, secret });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const w = await s.api('POST', '/v1/webhooks', { url: `${rx.url}/signed/report`, secret });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  for (const [path, id] of [['/v1/callback-profiles', p.body.id], ['/v1/webhooks', w.body.id]]) {
    const shown = JSON.stringify([(await s.api('GET', `${path}/${id}`)).body, (await s.api('GET', path)).body]);
    assert.ok(!shown.includes(secret.slice(6)), `${path}: the secret is not shown back`);
  }
  const res = await s.api('POST', '/v1/calls', {
    from: '+919812345678', to: '+918867130001', webhook_id: w.body.id, simulate: { ring_ms: 20, talk_ms: 50 },
    callback: { call_start: { callback_profile: [p.body.id] }, call_end: { callback_profile: [p.body.id] } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const call = await waitEnded(s.url, res.body.id);
  await waitSettled(s, call.id, 3);
  await waitFor(() => rx.requests.filter((r) => r.url.startsWith('/signed/')).length === 3);
  const signed = rx.requests.filter((r) => r.url.startsWith('/signed/'));
  assert.deepEqual(signed.map((r) => r.url).sort(), ['/signed/profile', '/signed/profile', '/signed/report']);
  for (const r of signed) {
    new Webhook(secret).verify(r.body, headerRecord(r)); // throws when the signature is wrong
    assert.throws(() => new Webhook(newSecret()).verify(r.body, headerRecord(r)));
  }

  // null removes it: the test button's request then carries no signature
  assert.equal((await s.api('PATCH', `/v1/webhooks/${w.body.id}`, { secret: null })).status, 200);
  const before = rx.requests.length;
  const t = await s.api('POST', `/v1/webhooks/${w.body.id}/test`, {});
  assert.equal(t.body.success, true, JSON.stringify(t.body));
  const [sent] = rx.requests.slice(before);
  assert.equal(sent?.headers['webhook-signature'], undefined);
});

test('a bad secret is refused on both kinds with 400 naming the field', async () => {
  for (const [path, body] of [['/v1/callback-profiles', { name: 'x', url: `${rx.url}/x` }], ['/v1/webhooks', { url: `${rx.url}/x` }]] as const) {
    const r = await s.api('POST', path, { ...body, secret: 'not-a-secret' });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.errors?.[0]?.field ?? r.body.field, 'secret', JSON.stringify(r.body));
  }
});
