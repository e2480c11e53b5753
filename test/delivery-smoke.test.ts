import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';

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

test('a call’s events reach a native endpoint, signed and in order', async () => {
  const ep = await s.api('POST', '/v1/endpoints', { url: `${rx.url}/hook` });
  assert.equal(ep.status, 201, JSON.stringify(ep.body));
  assert.match(ep.body.secret, /^whsec_/);
  const call = await s.api('POST', '/v1/calls', { from: '+15550001', to: '+15550002', simulate: { ring_ms: 10, talk_ms: 20 } });
  await waitFor(() => rx.requests.length >= 5);
  const wh = new Webhook(ep.body.secret);
  const types = rx.requests.map((r) => {
    const payload = wh.verify(r.body, r.headers as Record<string, string>) as { type: string; data: { call: { id: string } } };
    assert.equal(payload.data.call.id, call.body.id);
    return payload.type;
  });
  assert.deepEqual(types, ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
  const log = await waitFor(async () => {
    const r = await s.api('GET', `/v1/deliveries?call_id=${call.body.id}`);
    return r.body.data.length === 5 && r.body.data.every((d: any) => d.status === 'succeeded') ? r.body : null;
  });
  assert.equal(log.data[0].attempts.length, 1);
  assert.equal(log.data[0].attempts[0].request.headers['webhook-signature'], '[redacted]');
});
