/**
 * Issue 3: what a receiver gets from a native endpoint verifies with the reference libraries of
 * Standard Webhooks (`standardwebhooks`) and Svix (`svix`) on the raw bytes received, tampering
 * breaks it, and during a secret rotation both the old and the new secret verify.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { startHookline, startReceiver, waitFor, type Received, type Receiver, type TestServer } from './helpers.ts';
import { createEndpoint, deliveries, hook, placeCall, waitEnded } from './delivery-helpers.ts';

let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline();
  rx = await startReceiver();
});
after(async () => {
  await rx.close();
  await s.stop();
});

const headersOf = (r: Received): Record<string, string> => r.headers as Record<string, string>;

/** Both libraries verify the request as received; answers the payload each one parsed. */
function verifyBoth(secret: string, r: Received): unknown[] {
  return [new StandardWebhook(secret).verify(r.body, headersOf(r)), new SvixWebhook(secret).verify(r.body, headersOf(r))];
}

function refusedByBoth(secret: string, body: string, headers: Record<string, string>, what: string): void {
  assert.throws(() => new StandardWebhook(secret).verify(body, headers), `standardwebhooks accepted ${what}`);
  assert.throws(() => new SvixWebhook(secret).verify(body, headers), `svix accepted ${what}`);
}

async function receivedFor(callId: string, path: string, n: number): Promise<Received[]> {
  return waitFor(() => {
    const got = rx.requests.filter((r) => r.url === path && hook(r).call_id === callId);
    return got.length >= n ? got : null;
  }, 10_000, `${n} deliveries of call ${callId} at ${path}`);
}

test('every delivery verifies with standardwebhooks and svix, and the payload is the canonical event', async () => {
  const ep = await createEndpoint(s, { url: `${rx.url}/verify` });
  assert.match(ep.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  const callId = await placeCall(s);
  await waitEnded(s, callId);
  const got = await receivedFor(callId, '/verify', 5);
  for (const r of got) {
    assert.equal(r.method, 'POST');
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.match(String(r.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/, 'one secret: one signature');
    const [std, svix] = verifyBoth(ep.secret, r) as [any, any];
    assert.deepEqual(std, JSON.parse(r.body));
    assert.deepEqual(svix, std);
    assert.equal(std.data.call.id, callId);
    assert.equal(std.data.event.seq, Number(r.headers['hookline-seq']));
    assert.equal(typeof std.timestamp, 'string');
  }
  assert.deepEqual(got.map((r) => hook(r).type), ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
});

test('a tampered body, id, timestamp or signature, or the wrong secret, is refused by both libraries', async () => {
  const ep = await createEndpoint(s, { url: `${rx.url}/tamper`, events: ['call.ended'] });
  const callId = await placeCall(s);
  const [r] = await receivedFor(callId, '/tamper', 1);
  const h = headersOf(r!);
  verifyBoth(ep.secret, r!); // the untouched request verifies

  const body = JSON.parse(r!.body);
  refusedByBoth(ep.secret, JSON.stringify({ ...body, type: 'call.accepted' }), h, 'a changed body');
  refusedByBoth(ep.secret, r!.body + ' ', h, 'a body with a trailing space');
  refusedByBoth(ep.secret, r!.body, { ...h, 'webhook-id': `${h['webhook-id']}x` }, 'another webhook-id');
  refusedByBoth(ep.secret, r!.body, { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) - 1) }, 'another timestamp');
  const sig = h['webhook-signature']!;
  const flipped = sig.slice(0, 3) + (sig[3] === 'A' ? 'B' : 'A') + sig.slice(4);
  refusedByBoth(ep.secret, r!.body, { ...h, 'webhook-signature': flipped }, 'a changed signature');
  refusedByBoth(ep.secret, r!.body, { ...h, 'webhook-signature': sig.replace(/^v1,/, 'v1a,') }, 'a signature of another scheme');
  refusedByBoth(`whsec_${randomBytes(24).toString('base64')}`, r!.body, h, 'the wrong secret');
});

test('a secret given at creation signs; GET …/secret reveals it; the endpoint view and the log never show it', async () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const ep = await createEndpoint(s, { url: `${rx.url}/own`, events: ['call.accepted'], secret, headers: { authorization: 'Bearer receiver-token' } });
  assert.equal(ep.secret, secret);
  const revealed = await s.api('GET', `/v1/endpoints/${ep.id}/secret`);
  assert.equal(revealed.headers.get('cache-control'), 'no-store', 'a secret is never cached on its way');
  assert.equal((await s.api('GET', '/v1/endpoints/ep_nope')).headers.get('cache-control'), 'no-store', 'nor any /v1 answer, an error too');
  assert.equal(revealed.status, 200);
  assert.equal(revealed.body.secret, secret);

  const view = await s.api('GET', `/v1/endpoints/${ep.id}`);
  assert.equal(view.status, 200);
  assert.equal(view.body.secret, undefined);
  assert.doesNotMatch(JSON.stringify(view.body), /whsec_|receiver-token/);
  const list = await s.api('GET', '/v1/endpoints');
  assert.doesNotMatch(JSON.stringify(list.body), /whsec_|receiver-token/);

  const callId = await placeCall(s);
  const [r] = await receivedFor(callId, '/own', 1);
  verifyBoth(secret, r!);
  assert.equal(r!.headers.authorization, 'Bearer receiver-token', 'the endpoint’s own headers are sent');

  const [d] = await waitFor(async () => {
    const ds = await deliveries(s, { call_id: callId, target_id: ep.id });
    return ds.length === 1 && ds[0].attempts.length === 1 ? ds : null;
  });
  const logged = JSON.stringify(d);
  assert.doesNotMatch(logged, /whsec_|receiver-token/);
  assert.ok(!logged.includes(String(r!.headers['webhook-signature']).slice(3)), 'the signature is not in the log');
  assert.equal(d.attempts[0].request.headers['webhook-signature'], '[redacted]');
  assert.equal(d.attempts[0].request.headers.authorization, '[redacted]');
  assert.equal(d.attempts[0].request.headers['webhook-id'], d.id);
});

test('a credential in a header of any name is sent, and redacted in the endpoint view and the delivery log', async () => {
  const ep = await createEndpoint(s, { url: `${rx.url}/custom-auth`, events: ['call.accepted'], headers: { 'x-custom': 'Bearer topsecret-value', 'x-plain': 'visible' } });
  assert.equal(ep.headers['x-custom'], '[redacted]');
  assert.equal(ep.headers['x-plain'], 'visible');
  const callId = await placeCall(s);
  const [r] = await receivedFor(callId, '/custom-auth', 1);
  assert.equal(r!.headers['x-custom'], 'Bearer topsecret-value', 'sent as given');
  const [d] = await waitFor(async () => {
    const ds = await deliveries(s, { call_id: callId, target_id: ep.id });
    return ds.length === 1 && ds[0].attempts.length === 1 ? ds : null;
  });
  assert.doesNotMatch(JSON.stringify(d), /topsecret/);
  assert.equal(d.attempts[0].request.headers['x-plain'], 'visible');
  // a PATCH that sends the view back keeps the stored value
  const patched = await s.api('PATCH', `/v1/endpoints/${ep.id}`, { headers: ep.headers });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const callId2 = await placeCall(s);
  const [r2] = await receivedFor(callId2, '/custom-auth', 1);
  assert.equal(r2!.headers['x-custom'], 'Bearer topsecret-value');
});

test('a token in the target URL’s query is sent, and redacted wherever the delivery log shows the URL', async () => {
  const ep = await createEndpoint(s, { url: `${rx.url}/tok?token=supersecret-query&x=1`, events: ['call.accepted'] });
  const callId = await placeCall(s);
  await receivedFor(callId, '/tok?token=supersecret-query&x=1', 1);
  const [d] = await waitFor(async () => {
    const ds = await deliveries(s, { call_id: callId, target_id: ep.id });
    return ds.length === 1 && ds[0].attempts.length === 1 ? ds : null;
  });
  const one = (await s.api('GET', `/v1/deliveries/${d.id}`)).body;
  for (const shown of [d, one]) {
    assert.doesNotMatch(JSON.stringify(shown), /supersecret/);
    assert.match(shown.request.url, /^http:\/\/127\.0\.0\.1:\d+\/tok\?token=.+&x=1$/);
  }
});

test('after a rotation both the old and the new secret verify: two v1 signatures', async () => {
  const ep = await createEndpoint(s, { url: `${rx.url}/rotate`, events: ['call.accepted', 'call.ended'] });
  const oldSecret: string = ep.secret;

  const rotated = await s.api('POST', `/v1/endpoints/${ep.id}/secret/rotate`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const newSecret: string = rotated.body.secret;
  assert.match(newSecret, /^whsec_/);
  assert.notEqual(newSecret, oldSecret);
  assert.equal((await s.api('GET', `/v1/endpoints/${ep.id}/secret`)).body.secret, newSecret, 'the current secret is the new one');

  const callId = await placeCall(s);
  const got = await receivedFor(callId, '/rotate', 2);
  for (const r of got) {
    const sigs = String(r.headers['webhook-signature']).split(' ');
    assert.equal(sigs.length, 2, `two signatures during the rotation: ${String(r.headers['webhook-signature'])}`);
    for (const sig of sigs) assert.match(sig, /^v1,[A-Za-z0-9+/]+=*$/);
    verifyBoth(oldSecret, r);
    verifyBoth(newSecret, r);
    refusedByBoth(`whsec_${randomBytes(24).toString('base64')}`, r.body, headersOf(r), 'a third secret');
  }

  // A rotation to a secret of the user's choice, and a bad one refused.
  const chosen = `whsec_${randomBytes(24).toString('base64')}`;
  const again = await s.api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { secret: chosen });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.secret, chosen);
  const bad = await s.api('POST', `/v1/endpoints/${ep.id}/secret/rotate`, { secret: 'not-a-secret' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'invalid_field');
  assert.equal(bad.body.field, 'secret');

  const call2 = await placeCall(s);
  const got2 = await receivedFor(call2, '/rotate', 2);
  for (const r of got2) {
    // the first secret, the second one (retired by the second rotation) and the chosen one all sign
    assert.equal(String(r.headers['webhook-signature']).split(' ').length, 3);
    for (const secret of [oldSecret, newSecret, chosen]) verifyBoth(secret, r);
  }
});
