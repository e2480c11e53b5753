/**
 * Issue 3: native endpoints. Event types and filters decide what an endpoint gets; endpoints and
 * deliveries belong to their account (another one sees 404); bad input is a 400 with a code and
 * the field, and saves nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request, startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { createEndpoint, deliveries, hooks, placeCall, waitEnded, type Hook } from './delivery-helpers.ts';

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

const at = (path: string): Hook[] => hooks(rx.requests).filter((h) => h.url === path);
const names = (got: Hook[], callId: string): string[] => got.filter((h) => h.call_id === callId).map((h) => h.type);

/** Waits until every delivery of these calls has succeeded: then each endpoint has had all it will get. */
async function settled(callIds: string[]): Promise<void> {
  for (const id of callIds) await waitEnded(s, id);
  await waitFor(async () => {
    for (const id of callIds) {
      const ds = await deliveries(s, { call_id: id });
      if (ds.some((d) => d.status !== 'succeeded')) return false;
    }
    return true;
  }, 10_000, 'every delivery to succeed');
}

test('event types and filters (direction, channel_id, outcome) choose what an endpoint gets', async () => {
  const all = await createEndpoint(s, { url: `${rx.url}/all` });
  const ended = await createEndpoint(s, { url: `${rx.url}/ended`, events: ['call.ended'] });
  const inbound = await createEndpoint(s, { url: `${rx.url}/inbound`, filters: { direction: ['inbound'] } });
  const busy = await createEndpoint(s, { url: `${rx.url}/busy`, filters: { outcome: ['busy'] } });
  const busyEnded = await createEndpoint(s, { url: `${rx.url}/busy-ended`, events: ['call.ended'], filters: { outcome: ['busy', 'no-answer'] } });
  const channel = await createEndpoint(s, { url: `${rx.url}/channel`, filters: { channel_id: ['ch-7'], direction: ['outbound'] } });
  assert.deepEqual(ended.events, ['call.ended']);
  assert.deepEqual(busy.filters, { outcome: ['busy'] });

  const answered = await placeCall(s, {}, { channel_id: 'ch-7' });
  const rejected = await placeCall(s, { outcome: 'busy' });
  await settled([answered, rejected]);

  const everything = at('/all');
  const answeredEvents = names(everything, answered);
  const rejectedEvents = names(everything, rejected);
  assert.deepEqual(answeredEvents, ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
  assert.equal(rejectedEvents.at(-1), 'call.ended');
  assert.ok(!rejectedEvents.includes('leg.answered'));

  // events: only call.ended, of both calls
  assert.deepEqual(names(at('/ended'), answered), ['call.ended']);
  assert.deepEqual(names(at('/ended'), rejected), ['call.ended']);
  // direction inbound: nothing of two outbound calls, not even a delivery in the log
  assert.deepEqual(at('/inbound'), []);
  assert.deepEqual(await deliveries(s, { target_id: inbound.id }), []);
  // outcome busy: every event but the answered call's call.ended
  assert.deepEqual(names(at('/busy'), answered), answeredEvents.slice(0, -1));
  assert.deepEqual(names(at('/busy'), rejected), rejectedEvents);
  // call.ended only, of busy or no-answer calls
  assert.deepEqual(names(at('/busy-ended'), answered), []);
  assert.deepEqual(names(at('/busy-ended'), rejected), ['call.ended']);
  assert.equal(JSON.parse(rx.requests.find((r) => r.url === '/busy-ended')!.body).data.event.outcome, 'busy');
  // channel ch-7 (and outbound): the answered call only
  assert.deepEqual(names(at('/channel'), answered), answeredEvents);
  assert.deepEqual(names(at('/channel'), rejected), []);

  // An inbound call reaches the inbound endpoint; PATCH changes what an endpoint gets.
  const patched = await s.api('PATCH', `/v1/endpoints/${ended.id}`, { events: ['call.accepted'] });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual(patched.body.events, ['call.accepted']);
  const inboundCall = await s.api('POST', '/v1/inbound-calls', { from: '+15550300', to: '+15550301', simulate: { ring_ms: 10, talk_ms: 20 } });
  assert.equal(inboundCall.status, 201, JSON.stringify(inboundCall.body));
  await settled([inboundCall.body.id]);
  assert.deepEqual(names(at('/inbound'), inboundCall.body.id), names(at('/all'), inboundCall.body.id));
  assert.ok(names(at('/inbound'), inboundCall.body.id).includes('call.ended'));
  assert.deepEqual(names(at('/ended'), inboundCall.body.id), names(at('/all'), inboundCall.body.id).filter((t) => t === 'call.accepted'));

  // A deleted endpoint gets nothing more.
  for (const ep of [all, ended, inbound, busy, busyEnded, channel]) assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.id}`)).status, 204);
  assert.equal((await s.api('GET', `/v1/endpoints/${all.id}`)).status, 404);
  const after = await placeCall(s);
  await waitEnded(s, after);
  assert.deepEqual(await deliveries(s, { call_id: after }), []);
});

test('another account sees none of an account’s endpoints or deliveries: 404 and empty lists', async () => {
  const tenant = await s.api('POST', '/v1/accounts', { name: 'other' });
  assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
  const other: string = tenant.body.api_key;
  const as = (method: string, path: string, body?: unknown) => request(s.url, method, path, body, { key: other });

  const mine = await createEndpoint(s, { url: `${rx.url}/mine` });
  const myCall = await placeCall(s);
  await settled([myCall]);
  const [myDelivery] = await deliveries(s, { call_id: myCall, target_id: mine.id });
  assert.ok(myDelivery);

  for (const [method, path, body] of [
    ['GET', `/v1/endpoints/${mine.id}`],
    ['PATCH', `/v1/endpoints/${mine.id}`, { enabled: false }],
    ['DELETE', `/v1/endpoints/${mine.id}`],
    ['GET', `/v1/endpoints/${mine.id}/secret`],
    ['POST', `/v1/endpoints/${mine.id}/secret/rotate`, {}],
    ['GET', `/v1/deliveries/${myDelivery.id}`],
    ['POST', `/v1/deliveries/${myDelivery.id}/retry`],
  ] as const) {
    const r = await as(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'not_found');
    assert.doesNotMatch(JSON.stringify(r.body), /whsec_/);
  }
  assert.deepEqual((await as('GET', '/v1/endpoints')).body.data, []);
  assert.deepEqual((await as('GET', '/v1/deliveries')).body.data, []);
  assert.deepEqual((await as('GET', `/v1/deliveries?call_id=${myCall}`)).body.data, []);
  assert.deepEqual((await as('GET', `/v1/deliveries?target_id=${mine.id}`)).body.data, []);

  // Nothing the other account tried changed the endpoint.
  const still = await s.api('GET', `/v1/endpoints/${mine.id}`);
  assert.equal(still.body.enabled, true);
  assert.equal((await s.api('GET', `/v1/endpoints/${mine.id}/secret`)).body.secret, mine.secret);

  // Each account's calls reach only its own endpoints.
  const theirs = await createEndpoint(s, { url: `${rx.url}/theirs` }, other);
  assert.equal((await s.api('GET', `/v1/endpoints/${theirs.id}`)).status, 404);
  const theirCall = await placeCall(s, {}, {}, other);
  await waitFor(() => names(at('/theirs'), theirCall).includes('call.ended'), 10_000, 'the other account’s call at its endpoint');
  assert.deepEqual(names(at('/mine'), theirCall), []);
  assert.deepEqual(at('/theirs').filter((h) => h.call_id !== theirCall), []);
  assert.deepEqual(await deliveries(s, { call_id: theirCall }), [], 'the first account’s log does not show the other’s deliveries');
  const theirLog = await deliveries(s, { call_id: theirCall }, other);
  assert.equal(theirLog.length, 5);
  assert.equal((await s.api('GET', `/v1/deliveries/${theirLog[0].id}`)).status, 404);
  await s.api('DELETE', `/v1/endpoints/${mine.id}`);
});

test('bad input on the endpoint routes is a 400 with a code and the field, and saves nothing', async () => {
  const url = `${rx.url}/bad`;
  const cases: [body: unknown, code: string, field: RegExp][] = [
    [{}, 'missing_field', /^url$/],
    [{ url, bogus: true }, 'unknown_field', /bogus/],
    [{ url: 'not a url' }, 'invalid_field', /^url$/],
    [{ url: 'ftp://example.com/x' }, 'invalid_field', /^url$/],
    [{ url: 'https://user:pass@example.com/x' }, 'invalid_field', /^url$/],
    [{ url, secret: 'hunter2' }, 'invalid_field', /^secret$/],
    [{ url, secret: 'whsec_c2hvcnQ=' }, 'invalid_field', /^secret$/], // 5 bytes: too short
    [{ url, secret: 'whsec_!!!!not-base64!!!!not-base64!!!!' }, 'invalid_field', /^secret$/],
    [{ url, events: ['call.exploded'] }, 'invalid_field', /^events/],
    [{ url, events: 'call.ended' }, 'invalid_field', /^events/],
    [{ url, filters: { direction: ['sideways'] } }, 'invalid_field', /^filters\.direction/],
    [{ url, filters: { outcome: ['great'] } }, 'invalid_field', /^filters\.outcome/],
    [{ url, filters: { mood: ['happy'] } }, 'unknown_field', /mood/],
    [{ url, headers: { 'webhook-id': 'mine' } }, 'invalid_field', /^headers/],
    [{ url, headers: { 'bad header': 'x' } }, 'invalid_field', /^headers/],
    [{ url, timeout_ms: 10 }, 'invalid_field', /^timeout_ms$/],
    [{ url, timeout_ms: 10_000_000 }, 'invalid_field', /^timeout_ms$/],
    [{ url, concurrency: 0 }, 'invalid_field', /^concurrency$/],
    [{ url, enabled: 'yes' }, 'invalid_field', /^enabled$/],
  ];
  for (const [body, code, field] of cases) {
    const r = await s.api('POST', '/v1/endpoints', body);
    const what = `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`;
    assert.equal(r.status, 400, what);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
    assert.equal(r.body.code, code, what);
    assert.match(String(r.body.field), field, what);
    assert.equal(typeof r.body.detail, 'string', what);
  }
  const notJson = await s.api('POST', '/v1/endpoints', undefined, { raw: '{"url": ' });
  assert.equal(notJson.status, 400, JSON.stringify(notJson.body));
  assert.equal(typeof notJson.body.code, 'string');
  assert.deepEqual((await s.api('GET', '/v1/endpoints')).body.data, [], 'no bad request saved an endpoint');

  const ep = await createEndpoint(s, { url });
  for (const [body, code] of [[{ bogus: 1 }, 'unknown_field'], [{ url: 'nope' }, 'invalid_field'], [{ secret: 'whsec_' }, 'invalid_field'], [{ events: ['x'] }, 'invalid_field']] as const) {
    const r = await s.api('PATCH', `/v1/endpoints/${ep.id}`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code);
  }
  const unchanged = await s.api('GET', `/v1/endpoints/${ep.id}`);
  assert.equal(unchanged.body.url, url);
  assert.deepEqual(unchanged.body.events, []);
  assert.equal((await s.api('GET', `/v1/endpoints/${ep.id}/secret`)).body.secret, ep.secret);

  for (const [method, path] of [['GET', '/v1/endpoints/ep_nope'], ['PATCH', '/v1/endpoints/ep_nope'], ['DELETE', '/v1/endpoints/ep_nope'], ['GET', '/v1/deliveries/msg_nope']] as const) {
    const r = await s.api(method, path, method === 'PATCH' ? { enabled: true } : undefined);
    assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'not_found');
  }
  const badStatus = await s.api('GET', '/v1/deliveries?status=lost');
  assert.equal(badStatus.status, 400);
  assert.equal(badStatus.body.code, 'invalid_field');
  const noKey = await request(s.url, 'GET', '/v1/endpoints', undefined, { key: null });
  assert.equal(noKey.status, 401);
  await s.api('DELETE', `/v1/endpoints/${ep.id}`);
});
