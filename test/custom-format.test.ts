/**
 * Issue 5, seed 004: the custom webhook integration. Settings, the six events against the seed's
 * payload shapes field by field, custom headers, event choice, "only 200 is success", the test
 * button, and the address guard.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { CallView } from './call-helpers.ts';
import { startHookline, startReceiver, type Received, type Receiver, type TestServer } from './helpers.ts';
import { eventOf, headerRecord, newSecret, newTenant, received, settle, waitForEvent, type Tenant } from './account-format-helpers.ts';

const FAST = { ring_ms: 20, talk_ms: 50 };
const ALL = ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'call_ended', 'error'];
const NAME: Record<string, string> = {
  'leg.initiated': 'call_initiated', 'leg.ringing': 'call_ringing', 'leg.answered': 'call_answered',
  'call.transcript': 'transcript', 'call.error': 'error', 'call.ended': 'call_ended',
};

let s: TestServer;
let rx: Receiver;
let retryHits = 0;
before(async () => {
  s = await startHookline({ retryScheduleMs: [30, 30, 30] });
  rx = await startReceiver();
  rx.respond((r, res) => {
    const path = new URL(r.url, 'http://x').pathname;
    if (path === '/custom/retry') {
      retryHits += 1;
      res.writeHead(retryHits <= 2 ? 201 : 200, { 'content-type': 'text/plain' }).end(retryHits <= 2 ? 'created' : 'ok');
    } else if (path === '/custom/500') res.writeHead(500, { 'content-type': 'text/plain' }).end('nope');
    else if (path === '/custom/201') res.writeHead(201, { 'content-type': 'text/plain' }).end('created');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
after(async () => {
  await s.stop();
  await rx.close();
});

async function configure(t: Tenant, body: Record<string, unknown>) {
  const r = await t.api('PUT', '/v1/integrations/custom-webhook', { ...body, url: body.url === undefined ? undefined : `${rx.url}${body.url as string}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function place(t: Tenant, path: '/v1/calls' | '/v1/inbound-calls', simulate: Record<string, unknown>): Promise<string> {
  const r = await t.api('POST', path, { from: '+905555555555', to: '+905555555554', simulate });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const unix = (iso: unknown) => Math.floor(Date.parse(String(iso)) / 1000);
const ofCall = (call: { number: number }) => (r: Received) => {
  const p = JSON.parse(r.body).payload;
  return (p.call_id ?? p.call?.id) === call.number;
};

/** Every request of one call at `path`, checked field by field against the seed's shapes; answers the event types. */
function checkCustom(call: CallView, path: string, headers: Record<string, string> = {}): string[] {
  const flat = { call_id: call.number, from: call.from, to: call.to, direction: call.direction, source: call.source };
  const nested = { id: call.number, from: call.from, to: call.to, source: call.source, direction: call.direction };
  return received(rx, path, ofCall(call)).map((r) => {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/json');
    for (const [k, v] of Object.entries(headers)) assert.equal(r.headers[k.toLowerCase()], v, `header ${k}`);
    const body = JSON.parse(r.body);
    const ev = eventOf(call, r);
    const eventType = NAME[ev.type];
    assert.ok(eventType, `${ev.type} is not a custom event`);
    let payload: Record<string, unknown>;
    switch (eventType) {
      case 'transcript':
        payload = { call: nested, type: ev.speaker, transcript: ev.message, timestamp_utc: String(unix(ev.occurred_at)) };
        break;
      case 'error':
        assert.equal(ev.message, call.error_message);
        payload = { call: nested, error_message: ev.message };
        break;
      case 'call_ended':
        payload = { ...flat, transcript: call.transcript.map((l) => ({ type: l.type, message: l.message, utc_timestamp: String(unix(l.at)) })) };
        break;
      default:
        payload = flat;
    }
    assert.ok(Number.isInteger(body.timestamp_utc), 'timestamp_utc is an integer');
    assert.deepEqual(body, { event_type: eventType, timestamp_utc: unix(ev.occurred_at), payload, is_test: false }, `${path}: ${eventType}`);
    return eventType;
  });
}

test('settings, and all six events shaped as the seed’s examples, with custom headers and a Standard Webhooks secret', async () => {
  const t = await newTenant(s);
  const initial = await t.api('GET', '/v1/integrations/custom-webhook');
  assert.equal(initial.status, 200);
  assert.equal(initial.body.enabled, false);
  assert.equal(initial.body.url, null);
  assert.deepEqual(initial.body.events, ALL);

  const secret = newSecret();
  const headers = { 'X-Api-Key': 'k-123', 'X-Tenant': 'acme' };
  const saved = await configure(t, { enabled: true, url: '/custom/all', headers, secret });
  assert.equal(saved.enabled, true);
  assert.equal(saved.url, `${rx.url}/custom/all`);
  assert.deepEqual(saved.events, ALL, 'events absent = all six');
  const shown = await t.api('GET', '/v1/integrations/custom-webhook');
  assert.equal(shown.body.url, `${rx.url}/custom/all`);
  assert.equal(shown.body.headers['X-Tenant'], 'acme');
  assert.ok(!JSON.stringify(shown.body).includes(secret.slice(6)), 'the secret is not shown');

  // Outbound, transcript from the scenario.
  const lines = [{ type: 'ai', message: 'Greeting message' }, { type: 'customer', message: 'customer message 1 "quoted"' }];
  const out = (await settle(t, await place(t, '/v1/calls', { ring_ms: 20, talk_ms: 150, transcript: lines }))).call;
  assert.equal(out.transcript.length, 2);
  assert.deepEqual(checkCustom(out, '/custom/all', headers), ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'transcript', 'call_ended']);
  const ended = JSON.parse(received(rx, '/custom/all', ofCall(out)).at(-1)!.body);
  assert.deepEqual(ended.payload.transcript.map((l: any) => [l.type, l.message]), lines.map((l) => [l.type, l.message]), 'call_ended carries the whole transcript');
  assert.equal(ended.payload.source, 'OBD');

  // Inbound, transcript posted through the API during the call, then hung up.
  const id = await place(t, '/v1/inbound-calls', { ring_ms: 20, talk_ms: 60_000 });
  await waitForEvent(t, id, 'leg.answered');
  assert.equal((await t.api('POST', `/v1/calls/${id}/transcript`, { type: 'customer', message: 'Hello, how are you?' })).status, 201);
  await waitForEvent(t, id, 'call.transcript');
  assert.equal((await t.api('POST', `/v1/calls/${id}/hangup`)).status, 200);
  const inb = (await settle(t, id)).call;
  assert.deepEqual(checkCustom(inb, '/custom/all', headers), ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'call_ended']);
  const inbEnded = JSON.parse(received(rx, '/custom/all', ofCall(inb)).at(-1)!.body);
  assert.equal(inbEnded.payload.direction, 'inbound');
  assert.deepEqual(inbEnded.payload.transcript.map((l: any) => l.message), ['Hello, how are you?']);

  // A failed call: error (the call nested under `call`), then call_ended.
  const failed = (await settle(t, await place(t, '/v1/calls', { ...FAST, outcome: 'failed' }))).call;
  assert.equal(failed.outcome, 'failed');
  assert.deepEqual(checkCustom(failed, '/custom/all', headers), ['call_initiated', 'call_ringing', 'error', 'call_ended']);

  const wh = new Webhook(secret);
  const all = received(rx, '/custom/all');
  assert.equal(all.length, 15);
  for (const r of all) {
    wh.verify(r.body, headerRecord(r));
    assert.throws(() => new Webhook(newSecret()).verify(r.body, headerRecord(r)));
  }
});

// Issue 11: a disabled target still gets its delivery rows, dead with the reason, so what it
// missed can be replayed from the log once it is re-enabled; nothing is sent.
const deadForDisabled = (ds: { target: { format: string }; status: string; last_error: string | null }[]) =>
  ds.filter((d) => d.target.format === 'custom').every((d) => d.status === 'dead' && d.last_error === 'target disabled: disabled by the user');

test('a disabled integration sends nothing; events: ["call_ended"] gets only call_ended', async () => {
  const t = await newTenant(s);
  await configure(t, { enabled: false, url: '/custom/off' });
  const off = await settle(t, await place(t, '/v1/calls', FAST));
  assert.ok(deadForDisabled(off.deliveries as never), JSON.stringify(off.deliveries));
  assert.equal(received(rx, '/custom/off').length, 0);

  const only = await configure(t, { enabled: true, url: '/custom/ended-only', events: ['call_ended'] });
  assert.deepEqual(only.events, ['call_ended']);
  const { call, deliveries } = await settle(t, await place(t, '/v1/calls', { ...FAST, transcript: [{ type: 'ai', message: 'hi' }] }));
  assert.deepEqual(deliveries.filter((d) => d.target.format === 'custom').map((d) => d.event), ['call_ended']);
  assert.deepEqual(checkCustom(call, '/custom/ended-only'), ['call_ended']);
  assert.equal(received(rx, '/custom/off').length, 0);

  // Switched off again: the next call sends nothing.
  await configure(t, { enabled: false, url: '/custom/ended-only' });
  const again = await settle(t, await place(t, '/v1/calls', FAST));
  assert.ok(again.deliveries.some((d) => d.target.format === 'custom'));
  assert.ok(deadForDisabled(again.deliveries as never), JSON.stringify(again.deliveries));
  assert.equal(received(rx, '/custom/ended-only').length, 1);
});

test('settings saved back as GET shows them keep the credential headers GET redacts', async () => {
  const t = await newTenant(s);
  await configure(t, { enabled: true, url: '/custom/roundtrip', headers: { 'X-Api-Key': 'k-round', 'X-Tenant': 'acme' }, events: ['call_ended'] });
  const shown = (await t.api('GET', '/v1/integrations/custom-webhook')).body;
  assert.deepEqual(shown.headers, { 'X-Api-Key': '[redacted]', 'X-Tenant': 'acme' });
  const back = await t.api('PUT', '/v1/integrations/custom-webhook', { enabled: shown.enabled, url: shown.url, headers: { ...shown.headers, 'X-Tenant': 'acme-2' }, events: shown.events });
  assert.equal(back.status, 200, JSON.stringify(back.body));
  const { call } = await settle(t, await place(t, '/v1/calls', FAST));
  assert.deepEqual(checkCustom(call, '/custom/roundtrip', { 'x-api-key': 'k-round', 'x-tenant': 'acme-2' }), ['call_ended']);
});

test('only 200 is success: a delivery answered 201 is retried until a 200', async () => {
  const t = await newTenant(s);
  await configure(t, { enabled: true, url: '/custom/retry', events: ['call_ended'] });
  retryHits = 0;
  const { call, deliveries } = await settle(t, await place(t, '/v1/calls', FAST));
  assert.equal(deliveries.length, 1);
  const d = deliveries[0]!;
  assert.equal(d.event, 'call_ended');
  assert.equal(d.status, 'succeeded');
  assert.deepEqual(d.attempts.map((a) => a.status_code), [201, 201, 200]);
  assert.match(String(d.attempts[0]!.error), /201/);
  const reqs = received(rx, '/custom/retry', ofCall(call));
  assert.equal(reqs.length, 3);
  assert.equal(new Set(reqs.map((r) => r.headers['webhook-id'])).size, 1, 'the same delivery id on every attempt');
  assert.equal(new Set(reqs.map((r) => r.body)).size, 1, 'the same body on every attempt');
});

// The seed's examples' shapes, with the sample call's values: call_id 1 (an integer, as live
// events carry the call's number), the source the call has (OBD), the seed's numbers.
const CALL = { id: 1, from: '+905555555555', to: '+905555555554', source: 'OBD', direction: 'outbound' };
const FLAT = { call_id: 1, from: '+905555555555', to: '+905555555554', direction: 'outbound', source: 'OBD' };
const SAMPLES: Record<string, (p: any) => unknown> = {
  call_initiated: () => FLAT,
  call_ringing: () => FLAT,
  call_answered: () => FLAT,
  transcript: (p) => ({ call: CALL, type: 'customer', transcript: 'Hello, how are you?', timestamp_utc: p.timestamp_utc }),
  call_ended: (p) => ({ ...FLAT, transcript: [{ type: 'customer', message: 'Hello, how are you?', utc_timestamp: p.transcript[0].utc_timestamp }] }),
  error: () => ({ call: CALL, error_message: 'Error message' }),
};

test('the test button sends a sample shaped as the seed’s, as live traffic is, with is_test: true, answers the outcome and logs it', async () => {
  const t = await newTenant(s);
  const none = await t.api('POST', '/v1/integrations/custom-webhook/test');
  assert.equal(none.status, 400, 'no url yet');

  const secret = newSecret();
  await configure(t, { enabled: true, url: '/custom/button', headers: { Authorization: 'Bearer xyz' }, secret });
  const before = Math.floor(Date.now() / 1000);
  const r = await t.api('POST', '/v1/integrations/custom-webhook/test');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.success, true);
  assert.equal(r.body.status_code, 200);
  assert.equal(typeof r.body.latency_ms, 'number');
  assert.ok(r.body.latency_ms >= 0);
  assert.equal(r.body.response_excerpt, 'ok');
  const got = received(rx, '/custom/button');
  assert.equal(got.length, 1);
  const sent = new Webhook(secret).verify(got[0]!.body, headerRecord(got[0]!)) as any;
  assert.equal(got[0]!.method, 'POST');
  assert.equal(got[0]!.headers.authorization, 'Bearer xyz');
  // the sample call played its events over the last seconds
  assert.ok(Number.isInteger(sent.timestamp_utc) && sent.timestamp_utc >= before - 60 && sent.timestamp_utc <= before + 60);
  assert.deepEqual(sent, { event_type: 'call_initiated', timestamp_utc: sent.timestamp_utc, payload: SAMPLES.call_initiated!(sent.payload), is_test: true });

  for (const eventType of ALL) {
    const each = await t.api('POST', '/v1/integrations/custom-webhook/test', { event_type: eventType });
    assert.equal(each.status, 200, JSON.stringify(each.body));
    assert.equal(each.body.success, true);
    const body = JSON.parse(received(rx, '/custom/button').at(-1)!.body);
    assert.equal(typeof body.timestamp_utc, 'number');
    assert.deepEqual(body, { event_type: eventType, timestamp_utc: body.timestamp_utc, payload: SAMPLES[eventType]!(body.payload), is_test: true }, eventType);
  }
  // Each test is in the delivery log, marked as a test, belonging to no call.
  const log = (await t.api('GET', '/v1/deliveries?call_id=test')).body.data;
  assert.equal(log.length, 1 + ALL.length);
  for (const d of log) {
    assert.equal(d.test, true);
    assert.equal(d.call_id, null);
    assert.equal(d.status, 'succeeded');
    assert.equal(d.target.format, 'custom');
  }

  for (const [path, code, excerpt] of [['/custom/500', 500, 'nope'], ['/custom/201', 201, 'created']] as const) {
    await configure(t, { enabled: true, url: path });
    const res = await t.api('POST', '/v1/integrations/custom-webhook/test');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.success, false, `${code} is not a success`);
    assert.equal(res.body.status_code, code);
    assert.equal(res.body.response_excerpt, excerpt);
  }
  const unknown = await t.api('POST', '/v1/integrations/custom-webhook/test', { event_type: 'call_missed' });
  assert.equal(unknown.status, 400);
});

test('the address guard: private targets refused when saved, and by the test button at connect time', async (tc) => {
  const strict = await startHookline({ allowPrivateTargets: false, retryScheduleMs: [30, 30, 30] });
  try {
    const t = await newTenant(strict);
    for (const url of [rx.url, `http://localhost:${rx.port}/`, `http://[::1]:${rx.port}/`, 'http://10.1.2.3/hook', 'http://169.254.169.254/']) {
      const r = await t.api('PUT', '/v1/integrations/custom-webhook', { enabled: true, url });
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'target_not_allowed', url);
    }
    const unchanged = await t.api('GET', '/v1/integrations/custom-webhook');
    assert.equal(unchanged.body.url, null, 'nothing was saved');

    // A name (not an address) passes the save check; the test button still refuses it when it
    // resolves to a loopback address. Needs the machine's own name to resolve to one.
    const name = hostname();
    const resolved = await lookup(name).catch(() => null);
    if (!resolved || !/^(127\.|::1$)/.test(resolved.address)) {
      tc.skip(`connect-time check needs ${name} to resolve to a loopback address`);
      return;
    }
    const before = rx.requests.length;
    const saved = await t.api('PUT', '/v1/integrations/custom-webhook', { enabled: true, url: `http://${name}:${rx.port}/custom/guarded` });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const res = await t.api('POST', '/v1/integrations/custom-webhook/test');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.success, false);
    assert.equal(res.body.status_code, null);
    assert.match(String(res.body.error), /not allowed|refused|private|loopback/i);
    assert.equal(rx.requests.length, before, 'the receiver got nothing');
  } finally {
    await strict.stop();
  }
});
