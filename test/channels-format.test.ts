/**
 * Issue 5, seed 002: channel voice webhooks. Subscriptions in the seed's own shape, status and
 * channelId filters, every status of both events field by field, and the messagebird-signature
 * recomputed here from the seed's formula (not from src/delivery/signing.ts).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { CallView } from './call-helpers.ts';
import { startHookline, startReceiver, type Received, type Receiver, type TestServer } from './helpers.ts';
import { eventOf, headerRecord, newSecret, newTenant, received, settle, waitForEvent, type Tenant } from './account-format-helpers.ts';

// The seed's two example bodies, verbatim.
const SEED_INBOUND = {
  service: 'channels',
  event: 'voice.inbound',
  url: 'https://yoururl.com',
  signingKey: 'mysecretkey',
  eventFilters: [
    { key: 'channelId', value: 'b827924e-9789-4c2f-a4d5-b352175354f6' },
    { key: 'status', value: 'completed' },
    { key: 'status', value: 'starting' },
  ],
};
const SEED_OUTBOUND = {
  service: 'channels',
  event: 'voice.outbound',
  url: 'https://yoururl.com',
  signingKey: 'mysecretkey',
  eventFilters: [
    { key: 'channelId', value: 'b827924e-9789-4c2f-a4d5-b352175354f6' },
    { key: 'status', value: 'completed' },
  ],
};
const CH = 'b827924e-9789-4c2f-a4d5-b352175354f6';
const FAST = { ring_ms: 20, talk_ms: 50 };

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

/** The seed's formula, written out: Base64(HMAC-SHA256(key, ts + "\n" + url + "\n" + SHA-256(body) bytes)). */
function seedSignature(signingKey: string, timestamp: string, url: string, rawBody: string): string {
  const bodyHash = createHash('sha256').update(Buffer.from(rawBody, 'utf8')).digest();
  const payload = Buffer.concat([Buffer.from(`${timestamp}\n${url}\n`, 'utf8'), bodyHash]);
  return createHmac('sha256', signingKey).update(payload).digest('base64');
}

async function subscribe(t: Tenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api('POST', '/v1/subscriptions', { service: 'channels', ...body, url: `${rx.url}${body.url as string}` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const forCall = (call: { id: string }) => (r: Received) => JSON.parse(r.body).payload.id === call.id;
const STATUS_EVENT: Record<string, string> = { accepted: 'call.accepted', starting: 'leg.initiated', ringing: 'leg.ringing', ongoing: 'leg.answered' };

/**
 * Checks every request one subscription got for one call: POST, JSON, the whole body field by
 * field against the call's own record, and the seed signature when the subscription has a key.
 * Answers the statuses in arrival order.
 */
function checkDeliveries(call: CallView, path: string, event: string, signingKey: string | null): string[] {
  return received(rx, path, forCall(call)).map((r) => {
    assert.equal(r.method, 'POST');
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const body = JSON.parse(r.body);
    const status = body.payload.status as string;
    const ev = eventOf(call, r);
    assert.equal(ev.type, STATUS_EVENT[status] ?? 'call.ended', `${path}: ${status} announced by ${ev.type}`);
    const payload: Record<string, unknown> = {
      id: call.id, channelId: call.channel_id ?? null, direction: call.direction, status,
      from: call.from, to: call.to, createdAt: call.created_at, updatedAt: ev.occurred_at,
    };
    if (ev.type === 'call.ended') {
      assert.equal(status, ev.outcome === 'cancelled' && call.direction === 'inbound' ? 'no-answer' : ev.outcome);
      payload.duration = call.duration;
      if (call.recording_url) payload.recordingUrl = call.recording_url;
    }
    assert.deepEqual(body, { service: 'channels', event, payload }, `${path}: body of ${status}`);
    if (signingKey === null) {
      for (const h of ['messagebird-signature', 'messagebird-request-timestamp', 'messagebird-request-id']) assert.equal(r.headers[h], undefined, h);
    } else {
      const ts = String(r.headers['messagebird-request-timestamp']);
      assert.match(ts, /^\d{10}$/);
      assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, 'timestamp is unix seconds, now');
      assert.equal(r.headers['messagebird-signature'], seedSignature(signingKey, ts, `${rx.url}${r.url}`, r.body), `${path}: signature of ${status}`);
      assert.equal(r.headers['messagebird-request-id'], r.headers['webhook-id'], 'request id is the delivery id');
      assert.notEqual(r.headers['messagebird-signature'], seedSignature('not-the-key', ts, `${rx.url}${r.url}`, r.body));
    }
    return status;
  });
}

test('the seed’s example bodies are accepted as they are and shown back without the signing key', async () => {
  const t = await newTenant(s);
  for (const seed of [SEED_INBOUND, SEED_OUTBOUND]) {
    const r = await t.api('POST', '/v1/subscriptions', seed);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.ok(r.body.id);
    assert.equal(r.body.service, 'channels');
    assert.equal(r.body.event, seed.event);
    assert.equal(r.body.url, seed.url);
    assert.deepEqual(r.body.eventFilters, seed.eventFilters);
    assert.notEqual(r.body.signingKey, 'mysecretkey');
    const got = await t.api('GET', `/v1/subscriptions/${r.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.eventFilters, seed.eventFilters);
    assert.ok(!JSON.stringify(got.body).includes('mysecretkey'), 'the signing key is never shown');
  }
  const list = await t.api('GET', '/v1/subscriptions');
  assert.equal(list.status, 200);
  assert.equal(list.body.data.length, 2);
  assert.ok(!JSON.stringify(list.body).includes('mysecretkey'));
});

test('voice.inbound under each filter combination: none, status only, channelId only, both (the seed’s body)', async () => {
  const t = await newTenant(s);
  await subscribe(t, { event: 'voice.inbound', url: '/in/none', signingKey: 'key-none' });
  await subscribe(t, { event: 'voice.inbound', url: '/in/status', signingKey: 'key-status', eventFilters: [{ key: 'status', value: 'ongoing' }, { key: 'status', value: 'completed' }] });
  await subscribe(t, { event: 'voice.inbound', url: '/in/channel', eventFilters: [{ key: 'channelId', value: CH }] });
  // The seed's exact inbound body, pointed at the receiver afterwards (its url is not reachable).
  const seeded = await t.api('POST', '/v1/subscriptions', SEED_INBOUND);
  assert.equal(seeded.status, 201, JSON.stringify(seeded.body));
  const moved = await t.api('PATCH', `/v1/subscriptions/${seeded.body.id}`, { url: `${rx.url}/in/both` });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.deepEqual(moved.body.eventFilters, SEED_INBOUND.eventFilters);
  await subscribe(t, { event: 'voice.outbound', url: '/in/outbound-sub', signingKey: 'key-out' });

  const place = async (channel_id?: string) => {
    const r = await t.api('POST', '/v1/inbound-calls', { from: '+31612345678', to: '+31201234567', ...(channel_id ? { channel_id } : {}), simulate: { ...FAST, recording_url: 'https://rec.example/1.mp3' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return (await settle(t, r.body.id)).call;
  };
  const onCh = await place(CH);
  const onOther = await place('another-channel');
  const noChannel = await place();

  const all = ['starting', 'ringing', 'ongoing', 'completed'];
  assert.deepEqual(checkDeliveries(onCh, '/in/none', 'voice.inbound', 'key-none'), all);
  assert.deepEqual(checkDeliveries(onCh, '/in/status', 'voice.inbound', 'key-status'), ['ongoing', 'completed']);
  assert.deepEqual(checkDeliveries(onCh, '/in/channel', 'voice.inbound', null), all);
  assert.deepEqual(checkDeliveries(onCh, '/in/both', 'voice.inbound', 'mysecretkey'), ['starting', 'completed']);

  assert.deepEqual(checkDeliveries(onOther, '/in/none', 'voice.inbound', 'key-none'), all);
  assert.deepEqual(checkDeliveries(onOther, '/in/status', 'voice.inbound', 'key-status'), ['ongoing', 'completed']);
  assert.deepEqual(checkDeliveries(onOther, '/in/channel', 'voice.inbound', null), []);
  assert.deepEqual(checkDeliveries(onOther, '/in/both', 'voice.inbound', 'mysecretkey'), []);

  assert.deepEqual(checkDeliveries(noChannel, '/in/none', 'voice.inbound', 'key-none'), all);
  assert.deepEqual(checkDeliveries(noChannel, '/in/channel', 'voice.inbound', null), []);
  // A voice.outbound subscription hears nothing of inbound calls.
  assert.equal(received(rx, '/in/outbound-sub').length, 0);
});

test('voice.outbound: accepted, starting, ringing, ongoing, completed; the seed’s filters; busy, no-answer, failed, cancelled', async () => {
  const t = await newTenant(s);
  await subscribe(t, { event: 'voice.outbound', url: '/out/none', signingKey: 'key-out' });
  await subscribe(t, { event: 'voice.outbound', url: '/out/status', eventFilters: [{ key: 'status', value: 'busy' }, { key: 'status', value: 'cancelled' }, { key: 'status', value: 'accepted' }] });
  await subscribe(t, { event: 'voice.outbound', url: '/out/channel', signingKey: 'key-ch', eventFilters: [{ key: 'channelId', value: CH }] });
  const seeded = await t.api('POST', '/v1/subscriptions', SEED_OUTBOUND);
  assert.equal(seeded.status, 201, JSON.stringify(seeded.body));
  assert.equal((await t.api('PATCH', `/v1/subscriptions/${seeded.body.id}`, { url: `${rx.url}/out/both` })).status, 200);
  await subscribe(t, { event: 'voice.inbound', url: '/out/inbound-sub' });

  const place = async (simulate: Record<string, unknown>, channel_id = CH) => {
    const r = await t.api('POST', '/v1/calls', { from: '+31201234567', to: '+31612345678', channel_id, simulate: { ...FAST, ...simulate } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'accepted');
    return r.body.id as string;
  };
  const answered = (await settle(t, await place({ recording_url: 'https://rec.example/2.mp3' }))).call;
  assert.deepEqual(checkDeliveries(answered, '/out/none', 'voice.outbound', 'key-out'), ['accepted', 'starting', 'ringing', 'ongoing', 'completed']);
  assert.deepEqual(checkDeliveries(answered, '/out/status', 'voice.outbound', null), ['accepted']);
  assert.deepEqual(checkDeliveries(answered, '/out/channel', 'voice.outbound', 'key-ch'), ['accepted', 'starting', 'ringing', 'ongoing', 'completed']);
  assert.deepEqual(checkDeliveries(answered, '/out/both', 'voice.outbound', 'mysecretkey'), ['completed']);

  for (const outcome of ['busy', 'no-answer', 'failed'] as const) {
    const call = (await settle(t, await place({ outcome }))).call;
    assert.equal(call.outcome, outcome);
    assert.deepEqual(checkDeliveries(call, '/out/none', 'voice.outbound', 'key-out'), ['accepted', 'starting', 'ringing', outcome]);
    assert.deepEqual(checkDeliveries(call, '/out/status', 'voice.outbound', null), outcome === 'busy' ? ['accepted', 'busy'] : ['accepted']);
    assert.deepEqual(checkDeliveries(call, '/out/both', 'voice.outbound', 'mysecretkey'), []);
  }

  // Cancelled: hung up by the API while ringing, on another channel.
  const id = await place({ ring_ms: 60_000 }, 'other-channel');
  await waitForEvent(t, id, 'leg.ringing');
  assert.equal((await t.api('POST', `/v1/calls/${id}/hangup`)).status, 200);
  const cancelled = (await settle(t, id)).call;
  assert.equal(cancelled.outcome, 'cancelled');
  assert.deepEqual(checkDeliveries(cancelled, '/out/none', 'voice.outbound', 'key-out'), ['accepted', 'starting', 'ringing', 'cancelled']);
  assert.deepEqual(checkDeliveries(cancelled, '/out/status', 'voice.outbound', null), ['accepted', 'cancelled']);
  assert.deepEqual(checkDeliveries(cancelled, '/out/channel', 'voice.outbound', 'key-ch'), []);

  // A voice.inbound subscription hears nothing of outbound calls.
  assert.equal(received(rx, '/out/inbound-sub').length, 0);
});

test('voice.inbound outcomes: busy, no-answer, failed, and a caller who hangs up while it rings is no-answer', async () => {
  const t = await newTenant(s);
  await subscribe(t, { event: 'voice.inbound', url: '/in-outcomes', signingKey: 'k' });
  for (const outcome of ['busy', 'no-answer', 'failed'] as const) {
    const r = await t.api('POST', '/v1/inbound-calls', { from: '+441632960001', to: '+441632960002', channel_id: CH, simulate: { ...FAST, outcome } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const { call } = await settle(t, r.body.id);
    assert.deepEqual(checkDeliveries(call, '/in-outcomes', 'voice.inbound', 'k'), ['starting', 'ringing', outcome]);
  }
  const r = await t.api('POST', '/v1/inbound-calls', { from: '+441632960001', to: '+441632960002', simulate: { ring_ms: 60_000 } });
  await waitForEvent(t, r.body.id, 'leg.ringing');
  assert.equal((await t.api('POST', `/v1/calls/${r.body.id}/hangup`)).status, 200);
  const { call } = await settle(t, r.body.id);
  assert.deepEqual(checkDeliveries(call, '/in-outcomes', 'voice.inbound', 'k'), ['starting', 'ringing', 'no-answer']);
});

test('bad subscriptions are refused with 400 and nothing is created', async () => {
  const t = await newTenant(s);
  const url = `${rx.url}/never`;
  // [body, code, what the message must name]
  const refusals: [Record<string, unknown>, string, RegExp][] = [
    [{ event: 'voice.inbound', eventFilters: [{ key: 'channelId', value: 'a' }, { key: 'channelId', value: 'b' }] }, 'invalid_filter', /eventFilters\[1\].*channelId/],
    [{ event: 'voice.outbound', eventFilters: [{ key: 'channelId', value: 'a' }, { key: 'status', value: 'busy' }, { key: 'channelId', value: 'a' }] }, 'invalid_filter', /eventFilters\[2\]/],
    [{ event: 'voice.inbound', eventFilters: [{ key: 'status', value: 'accepted' }] }, 'invalid_filter', /eventFilters\[0\]\.value.*accepted/],
    [{ event: 'voice.inbound', eventFilters: [{ key: 'status', value: 'cancelled' }] }, 'invalid_filter', /eventFilters\[0\]\.value.*cancelled/],
    [{ event: 'voice.outbound', eventFilters: [{ key: 'status', value: 'answered' }] }, 'invalid_filter', /eventFilters\[0\]\.value/],
    [{ event: 'voice.inbound', eventFilters: [{ key: 'direction', value: 'inbound' }] }, 'invalid_filter', /eventFilters\[0\]\.key.*direction/],
    [{ event: 'voice.inbound', service: 'sms' }, 'invalid_field', /service/],
    [{ event: 'voice.inbound', service: 'Channels' }, 'invalid_field', /service/],
    [{ event: 'voice.missed' }, 'invalid_field', /event/],
  ];
  for (const [body, code, names] of refusals) {
    const r = await t.api('POST', '/v1/subscriptions', { service: 'channels', url, ...body });
    const what = `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`;
    assert.equal(r.status, 400, what);
    assert.match(String(r.headers.get('content-type')), /application\/problem\+json/);
    assert.equal(r.body.code, code, what);
    assert.match(r.body.detail, names, what);
  }
  const missingService = await t.api('POST', '/v1/subscriptions', { event: 'voice.inbound', url });
  assert.equal(missingService.status, 400);
  assert.equal((await t.api('GET', '/v1/subscriptions')).body.data.length, 0, 'no subscription was created');
  // A status a subscription may take, and an update that would break the rules is refused too.
  const ok = await t.api('POST', '/v1/subscriptions', { service: 'channels', event: 'voice.outbound', url, eventFilters: [{ key: 'status', value: 'accepted' }, { key: 'status', value: 'cancelled' }] });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const toInbound = await t.api('PATCH', `/v1/subscriptions/${ok.body.id}`, { event: 'voice.inbound' });
  assert.equal(toInbound.status, 400);
  assert.equal(toInbound.body.code, 'invalid_filter');
  assert.equal((await t.api('GET', `/v1/subscriptions/${ok.body.id}`)).body.event, 'voice.outbound');
});

test('a subscription may carry a Standard Webhooks secret besides its signingKey', async () => {
  const t = await newTenant(s);
  const secret = newSecret();
  await subscribe(t, { event: 'voice.outbound', url: '/sw', signingKey: 'k-sw', secret });
  const r = await t.api('POST', '/v1/calls', { from: '+15550100', to: '+15550101', simulate: FAST });
  const { call } = await settle(t, r.body.id);
  assert.deepEqual(checkDeliveries(call, '/sw', 'voice.outbound', 'k-sw'), ['accepted', 'starting', 'ringing', 'ongoing', 'completed']);
  const wh = new Webhook(secret);
  for (const req of received(rx, '/sw', forCall(call))) {
    const body = wh.verify(req.body, headerRecord(req)) as { payload: { id: string } };
    assert.equal(body.payload.id, call.id);
    assert.throws(() => new Webhook(newSecret()).verify(req.body, headerRecord(req)));
  }
  const view = await t.api('GET', '/v1/subscriptions');
  assert.ok(!JSON.stringify(view.body).includes(secret.slice(6)), 'the secret is not listed');
});

test('the signature covers the URL as it is requested, not as it was typed', async () => {
  const t = await newTenant(s);
  const port = new URL(rx.url).port;
  // typed: no path; an upper-case scheme and host, a space and a non-ASCII query
  for (const [typed, path] of [[`http://127.0.0.1:${port}`, '/'], [`HTTP://127.0.0.1:${port}/Loose path?q=ü`, '/Loose%20path']] as const) {
    const sub = await t.api('POST', '/v1/subscriptions', { service: 'channels', event: 'voice.outbound', url: typed, signingKey: 'k-url' });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const before = received(rx, path).length;
    const test = await t.api('POST', `/v1/subscriptions/${sub.body.id}/test`, {});
    assert.equal(test.status, 200, JSON.stringify(test.body));
    assert.equal(test.body.success, true, JSON.stringify(test.body));
    const got = received(rx, path).slice(before);
    assert.equal(got.length, 1, `one request to ${path}`);
    const r = got[0]!;
    const ts = String(r.headers['messagebird-request-timestamp']);
    const requested = `${rx.url}${r.url}`;
    assert.notEqual(requested, typed);
    assert.equal(r.headers['messagebird-signature'], seedSignature('k-url', ts, requested, r.body), `signed over ${requested}`);
    assert.equal((await t.api('DELETE', `/v1/subscriptions/${sub.body.id}`)).status, 204);
  }
});
