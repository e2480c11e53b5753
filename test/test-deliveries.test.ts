/**
 * Issue 11, Done-when 2: a test event for every target kind, saved (`POST /v1/{kind}/{id}/test`)
 * and unsaved (`POST /v1/test-deliveries`), reaches a real receiver with a body of the same keys
 * and JSON types as a live event of that format, answers {success, status_code, latency_ms,
 * response_excerpt, error, request} and is in the delivery log marked as a test; the address
 * guard refuses a test to a private address when private targets are not allowed.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Received, type Receiver, type TestServer } from './helpers.ts';
import { newTenant, settle, type Tenant } from './account-format-helpers.ts';

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

// A live call with what the sample call has: a bridge, a flow id, a transcript line, a recording.
const SIMULATE = { ring_ms: 10, talk_ms: 20, transcript: [{ type: 'customer', message: 'hi' }], recording_url: 'https://example.com/r.mp3' };
const LIVE = { from: '+905555555555', to: '+905555555554', bridge: '+918068280001', flow_id: 7, simulate: SIMULATE };

interface Kind {
  format: string;
  /** the format's event a test sends by default, and the live delivery compared with it */
  event: string;
  /** a create body sending to `url` (also the unsaved configuration) */
  body(url: string, t: Tenant): Promise<Record<string, unknown>>;
  /** where it is created (POST) and tested (`{path}/{id}/test`) */
  path: string;
  /** a live call reaching target `id` */
  call(t: Tenant, id: string, body: Record<string, unknown>): Promise<string>;
}

async function ok(r: { status: number; body: any }, status = 201): Promise<any> {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

const outbound = async (t: Tenant, extra: Record<string, unknown> = {}) => (await ok(await t.api('POST', '/v1/calls', { ...LIVE, ...extra }))).id as string;

const KINDS: Kind[] = [
  { format: 'standard', event: 'call.ended', path: '/v1/endpoints', body: async (url) => ({ url }), call: (t) => outbound(t) },
  {
    format: 'callback', event: 'call_end', path: '/v1/callback-profiles', body: async (url) => ({ name: 'crm', url }),
    call: (t, id) => outbound(t, { callback: { call_end: { callback_profile: [id], url: [] } } }),
  },
  { format: 'push-report', event: 'report', path: '/v1/webhooks', body: async (url) => ({ url }), call: (t, id) => outbound(t, { webhook_id: id }) },
  {
    format: 'channels', event: 'completed', path: '/v1/subscriptions',
    body: async (url) => ({ service: 'channels', event: 'voice.outbound', url, signingKey: 'mysecretkey' }), call: (t) => outbound(t),
  },
  {
    format: 'call-tracking', event: 'Call.Complete', path: '/v1/call-tracking/webhooks',
    body: async (url, t) => ({ url, property_sid: (await ok(await t.api('POST', '/v1/properties', { name: 'example.com' }))).sid }),
    call: async (t, _id, body) => {
      const r = await t.api('POST', '/v1/inbound-calls', { from: LIVE.from, to: LIVE.to, bridge: LIVE.bridge, tracking: { property_sid: body.property_sid }, simulate: SIMULATE });
      return (await ok(r)).id;
    },
  },
];

test('callback: every click-to-call event can be tested, and each sends what a live click-to-call sends', async () => {
  const t = await newTenant(s);
  const target = await ok(await t.api('POST', '/v1/callback-profiles', { name: 'c2c', url: `${rx.url}/tests/c2c?leg={{leg}}&event={{event}}` }));
  const events = ['from_call_start', 'to_call_start', 'from_call_answer', 'to_call_answer', 'call_end'];
  const callback = Object.fromEntries(events.map((e) => [e, { callback_profile: [target.id], url: [] }]));
  const r = await t.api('POST', '/v1/click-to-call', { from: LIVE.from, to: LIVE.to, bridge: LIVE.bridge, simulate: { from: { ring_ms: 10 }, to: { ring_ms: 10, talk_ms: 20, recording_url: SIMULATE.recording_url } }, callback });
  const live = (await settle(t, (await ok(r)).id)).deliveries.filter((d) => d.target.id === target.id);
  assert.deepEqual(live.map((d) => d.event).sort(), [...events].sort());
  for (const event of events) {
    const l = await byId(live.find((d) => d.event === event)!.id);
    const sent = await checkTest(t, await t.api('POST', `/v1/callback-profiles/${target.id}/test`, { event }), 'callback');
    assert.equal(new URL(sent.url, 'http://x').search, new URL(l.url, 'http://x').search, `${event}: the URL's variables as live`);
    assert.deepEqual(shape(parsed(sent)), shape(parsed(l)), event);
  }
});

/** A body as a receiver sees it: JSON, or form / query parameters (all strings). */
function parsed(r: Received): unknown {
  if (r.body !== '' && String(r.headers['content-type']).startsWith('application/json')) return JSON.parse(r.body);
  const params = r.body !== '' ? new URLSearchParams(r.body) : new URL(r.url, 'http://x').searchParams;
  return Object.fromEntries(params);
}

/** Keys and JSON types, recursively; an array as the set of its items' shapes. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return [...new Set(v.map((x) => JSON.stringify(shape(x))))].sort();
  if (typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}

const byId = (id: string) => waitFor(() => rx.requests.find((r) => r.headers['webhook-id'] === id), 10_000, `request ${id}`);

/** Checks a test's answer and its log entry; answers the request the receiver got. */
async function checkTest(t: Tenant, res: { status: number; body: any }, format: string): Promise<Received> {
  const out = await ok(res, 200);
  for (const k of ['success', 'status_code', 'latency_ms', 'response_excerpt', 'error', 'request']) assert.ok(k in out, `answer has ${k}`);
  assert.equal(out.success, true, JSON.stringify(out));
  assert.equal(out.status_code, 200);
  assert.equal(out.error, null);
  assert.equal(typeof out.latency_ms, 'number');
  assert.equal(out.response_excerpt, 'ok');
  const logged = await ok(await t.api('GET', `/v1/deliveries/${out.delivery_id}`), 200);
  assert.equal(logged.test, true);
  assert.equal(logged.status, 'succeeded');
  assert.equal(logged.target.format, format);
  return byId(out.delivery_id);
}

for (const kind of KINDS) {
  test(`${kind.format}: a saved and an unsaved test send what a live ${kind.event} sends, same keys and types`, async () => {
    const t = await newTenant(s);
    const body = await kind.body(`${rx.url}/tests/${kind.format}`, t);
    const target = await ok(await t.api('POST', kind.path, body));
    const id = target.id as string;
    const callId = await kind.call(t, id, body);
    const live = (await settle(t, callId)).deliveries.find((d) => d.target.id === id && d.event === kind.event);
    assert.ok(live, `a live ${kind.event}`);
    const liveShape = shape(parsed(await byId(live.id)));

    const saved = await checkTest(t, await t.api('POST', `${kind.path}/${id}/test`), kind.format);
    assert.equal(saved.method, (await byId(live.id)).method);
    assert.deepEqual(shape(parsed(saved)), liveShape);
    const unsaved = await checkTest(t, await t.api('POST', '/v1/test-deliveries', { format: kind.format, ...body }), kind.format);
    assert.deepEqual(shape(parsed(unsaved)), liveShape);
    if (kind.format === 'channels') assert.ok(unsaved.headers['messagebird-signature'], 'signed as live traffic is');
  });
}

test('custom: the test button and an unsaved test send what live events send (call_initiated, call_ended), is_test: true', async () => {
  const t = await newTenant(s);
  await ok(await t.api('PUT', '/v1/integrations/custom-webhook', { enabled: true, url: `${rx.url}/tests/custom` }), 200);
  const callId = await outbound(t);
  const lives = (await settle(t, callId)).deliveries.filter((d) => d.target.format === 'custom');
  for (const event of ['call_initiated', 'call_ended']) {
    const live = JSON.parse((await byId(lives.find((d) => d.event === event)!.id)).body);
    assert.equal(live.is_test, false);
    for (const res of [
      await t.api('POST', '/v1/integrations/custom-webhook/test', { event_type: event }),
      await t.api('POST', '/v1/test-deliveries', { format: 'custom', url: `${rx.url}/tests/custom-unsaved`, test_event: event }),
    ]) {
      const sent = JSON.parse((await checkTest(t, res, 'custom')).body);
      assert.equal(sent.is_test, true);
      assert.equal(sent.event_type, event);
      assert.deepEqual(shape(sent), shape(live), event);
    }
  }
});

test('POST /v1/test-deliveries checks the configuration as its create does', async () => {
  const t = await newTenant(s);
  const unknown = await t.api('POST', '/v1/test-deliveries', { format: 'push-report', url: `${rx.url}/x`, template: 'x' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'unknown_field');
  const badFormat = await t.api('POST', '/v1/test-deliveries', { format: 'smtp', url: `${rx.url}/x` });
  assert.equal(badFormat.status, 400);
  const badEvent = await t.api('POST', '/v1/test-deliveries', { format: 'standard', url: `${rx.url}/x`, test_event: 'call_end' });
  assert.equal(badEvent.status, 400);
  assert.equal(badEvent.body.field, 'test_event');
});

test('the address guard refuses a test to a private address when private targets are not allowed', async (tc) => {
  const strict = await startHookline({ allowPrivateTargets: false });
  try {
    const t = await newTenant(strict);
    const before = rx.requests.length;
    for (const format of ['standard', 'custom', 'push-report'] as const) {
      const r = await t.api('POST', '/v1/test-deliveries', { format, url: `${rx.url}/private` });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'target_not_allowed');
    }
    // A name passes the save check; the send still refuses it once it resolves to loopback.
    const name = hostname();
    const resolved = await lookup(name).catch(() => null);
    if (!resolved || !/^(127\.|::1$)/.test(resolved.address)) {
      tc.skip(`connect-time check needs ${name} to resolve to a loopback address`);
      return;
    }
    const res = await t.api('POST', '/v1/test-deliveries', { format: 'standard', url: `http://${name}:${rx.port}/private` });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.success, false);
    assert.equal(res.body.status_code, null);
    assert.match(String(res.body.error), /not allowed|refused|private|loopback/i);
    assert.equal(rx.requests.length, before, 'the receiver got nothing');
  } finally {
    await strict.stop();
  }
});

test('a sample call is created when its first event happens, as a live call is', async () => {
  const t = await newTenant(s);
  const ep = await ok(await t.api('POST', '/v1/endpoints', { url: `${rx.url}/tests/sample-times` }));
  const sent = await checkTest(t, await t.api('POST', `/v1/endpoints/${ep.id}/test`), 'standard');
  const call = JSON.parse(sent.body).data.call;
  assert.ok(Date.parse(call.created_at) <= Date.parse(call.started_at), `created ${call.created_at}, started ${call.started_at}`);
  assert.ok(Date.parse(call.started_at) < Date.parse(call.ended_at));
});
