/**
 * Seed 000's `callback` parameter is checked before any call is placed: case-insensitive keys at
 * both levels, only the API's own events, at most 10 profile ids and URLs, the account's own
 * profiles, valid URLs with known variables. A refusal is a 400 and no call exists. Callback
 * profiles refuse unknown template variables when saved.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertProblem, callCount, createTenant, waitEnded } from './call-helpers.ts';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { waitSettled } from './per-call-helpers.ts';

const KNOWN = ['call_id', 'event', 'caller', 'callee', 'bridge', 'direction', 'status', 'leg', 'start_time', 'answer_time', 'end_time', 'duration', 'recording_url'];

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

async function profile(body: Record<string, unknown>, key?: string): Promise<string> {
  const r = await s.api('POST', '/v1/callback-profiles', body, key === undefined ? {} : { key });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const OBD = '/v1/calls';
const C2C = '/v1/click-to-call';
const sim = { ring_ms: 10, talk_ms: 10 };

/** POSTs a call with this `callback` and asserts a 400 with `code`, and that no call was placed. */
async function refused(route: string, callback: unknown, code = 'invalid_callback', field?: string, key?: string): Promise<any> {
  const before = await callCount(s.url, key);
  const simulate = route === C2C ? { from: sim, to: sim } : sim;
  const r = await s.api('POST', route, { from: '+919812345678', to: '+918867130001', simulate, callback }, key === undefined ? {} : { key });
  assertProblem(r, 400, code, field);
  assert.equal(await callCount(s.url, key), before, `a call was placed for ${JSON.stringify(callback)}`);
  return r.body;
}

async function placed(route: string, callback: unknown): Promise<any> {
  const simulate = route === C2C ? { from: sim, to: sim } : sim;
  const r = await s.api('POST', route, { from: '+919812345678', to: '+918867130001', simulate, callback });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('keys are case-insensitive at both levels; the call keeps them lower-case; a key given twice is refused', async () => {
  const p = await profile({ name: 'p', url: `${rx.url}/p` });
  const u = `${rx.url}/u?caller={{caller}}`;
  const obd = await placed(OBD, {
    Call_start: { Callback_Profile: [p], URL: [u] }, CALL_ANSWER: { url: [] }, call_End: { CALLBACK_PROFILE: [], Url: [u] },
  });
  assert.deepEqual(obd.callback, {
    call_start: { callback_profile: [p], url: [u] }, call_answer: { callback_profile: [], url: [] }, call_end: { callback_profile: [], url: [u] },
  });
  const c2c = await placed(C2C, { FROM_CALL_START: { url: [u] }, To_Call_Answer: { callback_profile: [p] }, Call_End: {} });
  assert.deepEqual(Object.keys(c2c.callback).sort(), ['call_end', 'from_call_start', 'to_call_answer']);
  // the seed's "Format" column: empty lists are accepted and call nothing
  const empty = await placed(OBD, { call_start: { callback_profile: [], url: [] } });
  await waitEnded(s.url, empty.id);
  await waitSettled(s, empty.id, 0);

  await refused(OBD, { call_start: { url: [u] }, CALL_START: { url: [u] } }, 'invalid_callback', 'callback.CALL_START');
  await refused(OBD, { call_start: { url: [u], URL: [u] } }, 'invalid_callback', 'callback.call_start.URL');
});

test('10 profile ids and URLs in all are accepted, an 11th is refused and no call is placed', async () => {
  const ps = await Promise.all(Array.from({ length: 6 }, (_, i) => profile({ name: `p${i}`, url: `${rx.url}/ten/p${i}` })));
  const urls = Array.from({ length: 6 }, (_, i) => `${rx.url}/ten/u${i}?e={{event}}`);
  // OBD: 4 profiles + 6 URLs over three events
  const call = await placed(OBD, {
    call_start: { callback_profile: ps.slice(0, 2), url: urls.slice(0, 2) },
    call_answer: { callback_profile: ps.slice(2, 4) },
    call_end: { url: urls.slice(2, 6) },
  });
  await waitEnded(s.url, call.id);
  const ds = await waitSettled(s, call.id, 10);
  assert.ok(ds.every((d) => d.status === 'succeeded'));
  assert.deepEqual(ds.map((d) => d.event).sort(), [...Array(4).fill('call_end'), ...Array(2).fill('call_answer'), ...Array(4).fill('call_start')].sort());
  // C2C: 5 profiles + 5 URLs, one event each
  const evs = ['from_call_start', 'to_call_start', 'from_call_answer', 'to_call_answer', 'call_end'];
  await placed(C2C, Object.fromEntries(evs.map((e, i) => [e, { callback_profile: [ps[i]], url: [urls[i]] }])));

  // 11: one more profile, or one more URL, on any event
  await refused(OBD, { call_start: { callback_profile: ps, url: urls.slice(0, 5) } }, 'invalid_callback', 'callback');
  await refused(OBD, { call_start: { url: urls }, call_answer: { url: urls.slice(0, 4) }, call_end: { callback_profile: [ps[0]] } }, 'invalid_callback', 'callback');
  await refused(C2C, Object.fromEntries(evs.map((e, i) => [e, { callback_profile: [ps[i]], url: e === 'call_end' ? [urls[i], urls[5]] : [urls[i]] }])));
  // the count is of what was given, and it is checked before the ids: 11 unknown ids are "too many"
  const body = await refused(OBD, { call_end: { callback_profile: Array.from({ length: 11 }, (_, i) => `SG_nope${i}`) } });
  assert.match(body.detail, /at most 10/);
});

test('unknown profile ids and another account’s profile are refused; no call in either account', async () => {
  const t = await createTenant(s.url, 'other');
  const theirs = await profile({ name: 'theirs', url: `${rx.url}/theirs` }, t.api_key);
  const mine = await profile({ name: 'mine', url: `${rx.url}/mine` });
  const tenantCalls = await callCount(s.url, t.api_key);
  let body = await refused(OBD, { call_start: { callback_profile: [theirs] } }, 'invalid_callback', 'callback.call_start.callback_profile[0]');
  assert.match(body.detail, new RegExp(`no callback profile "${theirs}" in this account`));
  body = await refused(C2C, { call_end: { callback_profile: [mine, theirs] } }, 'invalid_callback', 'callback.call_end.callback_profile[1]');
  await refused(OBD, { call_start: { callback_profile: ['SG_does-not-exist'] } }, 'invalid_callback', 'callback.call_start.callback_profile[0]');
  // the same for the tenant, the other way round; its own profile works
  await refused(OBD, { call_start: { callback_profile: [mine] } }, 'invalid_callback', 'callback.call_start.callback_profile[0]', t.api_key);
  const ok = await s.api('POST', OBD, { from: '1', to: '2', simulate: sim, callback: { call_end: { callback_profile: [theirs] } } }, { key: t.api_key });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(await callCount(s.url, t.api_key), tenantCalls + 1);
  await waitFor(() => rx.requests.some((r) => r.url === '/theirs'));
  // and a tenant cannot read or change another account's profile
  assert.equal((await s.api('GET', `/v1/callback-profiles/${mine}`, undefined, { key: t.api_key })).status, 404);
  assert.equal((await s.api('PATCH', `/v1/callback-profiles/${mine}`, { name: 'x' }, { key: t.api_key })).status, 404);
});

test('unknown event keys, inner keys and shapes are refused', async () => {
  const u = `${rx.url}/x`;
  for (const key of ['call_ringing', 'from_call_start', 'To_Call_Answer', 'callstart', 'call_start ', '']) {
    const body = await refused(OBD, { [key]: { url: [u] } }, 'invalid_callback', `callback.${key}`);
    assert.match(body.detail, /use one of call_start, call_answer, call_end/);
  }
  for (const key of ['call_start', 'Call_Answer', 'from_call_asnwer', 'channel_1_start']) {
    const body = await refused(C2C, { [key]: { url: [u] } }, 'invalid_callback', `callback.${key}`);
    assert.match(body.detail, /use one of from_call_start, to_call_start, from_call_answer, to_call_answer, call_end/);
  }
  await refused(OBD, { call_start: { urls: [u] } }, 'invalid_callback', 'callback.call_start.urls');
  await refused(OBD, { call_start: { profile: ['SG_x'] } }, 'invalid_callback', 'callback.call_start.profile');
  await refused(OBD, { call_start: { url: u } }, 'invalid_callback', 'callback.call_start.url');
  await refused(OBD, { call_start: { url: [u, 42] } }, 'invalid_callback', 'callback.call_start.url');
  await refused(OBD, { call_start: { url: [''] } }, 'invalid_callback', 'callback.call_start.url');
  await refused(OBD, { call_start: { callback_profile: 'SG_x' } }, 'invalid_callback', 'callback.call_start.callback_profile');
  // the event's value must be an object (the schema or the check refuses it; either way a 400 and no call)
  for (const bad of [[u], 'x', null]) {
    const before = await callCount(s.url);
    const r = await s.api('POST', OBD, { from: '1', to: '2', simulate: sim, callback: { call_start: bad } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(await callCount(s.url), before);
  }
});

test('bad URLs and unknown variables in URLs are refused', async () => {
  for (const url of ['not a url', 'ftp://example.com/cb', '//example.com/cb', 'http://', 'example.com/cb', 'javascript:alert(1)', 'file:///etc/passwd']) {
    await refused(OBD, { call_end: { url: [url] } }, 'invalid_callback', 'callback.call_end.url[0]');
  }
  // an unknown variable, with the list of known ones
  const body = await refused(C2C, { to_call_start: { url: [`${rx.url}/ok`, `${rx.url}/cb?who={{callr}}`] } }, 'invalid_callback', 'callback.to_call_start.url[1]');
  assert.match(body.detail, /\{\{callr\}\}/);
  for (const name of KNOWN) assert.ok(body.detail.includes(name), `${name} listed in: ${body.detail}`);
  await refused(OBD, { call_end: { url: [`${rx.url}/cb?x={{constructor}}`] } }, 'invalid_callback', 'callback.call_end.url[0]');
  await refused(OBD, { call_end: { url: [`${rx.url}/cb?x={{a.b}}`] } }, 'invalid_callback', 'callback.call_end.url[0]');
  // an unknown webhook_id is refused the same way
  const before = await callCount(s.url);
  const r = await s.api('POST', OBD, { from: '1', to: '2', webhook_id: 'wh_nope' });
  assertProblem(r, 400, 'unknown_reference', 'webhook_id');
  assert.equal(await callCount(s.url), before);
});

test('private and loopback callback URLs are refused unless the operator allows them', async () => {
  const strict = await startHookline({ allowPrivateTargets: false });
  try {
    for (const url of [`${rx.url}/x`, 'http://10.0.0.1/cb', 'http://169.254.169.254/latest', 'http://[::1]/cb']) {
      const r = await strict.api('POST', OBD, { from: '1', to: '2', callback: { call_end: { url: [url] } } });
      assertProblem(r, 400, 'invalid_callback', 'callback.call_end.url[0]');
    }
    const p = await strict.api('POST', '/v1/callback-profiles', { name: 'lo', url: `${rx.url}/x` });
    assert.equal(p.status, 400, JSON.stringify(p.body));
    assert.equal(await callCount(strict.url), 0);
  } finally {
    await strict.stop();
  }
});

test('a profile with an unknown template variable is refused when saved, listing the known names', async () => {
  const check = (r: { status: number; headers: Headers; body: any }, field: string, name: string) => {
    assertProblem(r, 400, 'invalid_template', field);
    assert.ok(r.body.detail.includes(`{{${name}}}`), r.body.detail);
    for (const k of KNOWN) assert.ok(r.body.detail.includes(k), `${k} in ${r.body.detail}`);
  };
  check(await s.api('POST', '/v1/callback-profiles', { name: 'x', url: `${rx.url}/cb?c={{calller}}` }), 'url', 'calller');
  check(await s.api('POST', '/v1/callback-profiles', { name: 'x', url: `${rx.url}/cb?c={phone}` }), 'url', 'phone');
  check(await s.api('POST', '/v1/callback-profiles', { name: 'x', url: `${rx.url}/cb`, body: '{"a": "{{caller}}", "b": {{__proto__}}}' }), 'body', '__proto__');
  // a GET profile has no body; methods are GET or POST
  assertProblem(await s.api('POST', '/v1/callback-profiles', { name: 'x', method: 'GET', url: `${rx.url}/cb`, body: '{}' }), 400, 'invalid_field', 'body');
  assert.equal((await s.api('POST', '/v1/callback-profiles', { name: 'x', method: 'PUT', url: `${rx.url}/cb` })).status, 400);
  assertProblem(await s.api('POST', '/v1/callback-profiles', { name: 'x', url: 'not a url' }), 400, 'invalid_field', 'url');

  // every known name is accepted, in both spellings; a refused PATCH leaves the profile as it was
  const all = KNOWN.map((k, i) => (i % 2 ? `${k}={${k}}` : `${k}={{ ${k} }}`)).join('&');
  const created = await s.api('POST', '/v1/callback-profiles', { name: 'all', url: `${rx.url}/all?${all}`, body: `{${KNOWN.map((k) => `"${k}": "{{${k}}}"`).join(', ')}}` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.method, 'POST');
  check(await s.api('PATCH', `/v1/callback-profiles/${created.body.id}`, { body: '{"x": "{{nope}}"}' }), 'body', 'nope');
  const now = await s.api('GET', `/v1/callback-profiles/${created.body.id}`);
  assert.equal(now.body.body, created.body.body);
  assert.equal(now.body.url, created.body.url);
});
