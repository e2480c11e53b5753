/**
 * Seed 001 on the wire: a call names a webhook by `webhook_id`; when the call ends, one report
 * goes to it: the seed's JSON (its fields and types) or the webhook's compose template, by POST,
 * GET or PUT, with its headers. Only 200 and 202 count as delivered.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertProblem, callCount, createTenant, waitEnded, waitEvent, type CallView } from './call-helpers.ts';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { jsonBody, SQL_TIME, sqlTime, target, waitSettled } from './per-call-helpers.ts';

const REPORT_VARS = ['id', 'webhook_id', 'bridge', 'from', 'to', 'source', 'mid', 'flow_id', 'start_at', 'end_at', 'duration', 'status', 'recording_url'];
const SEED_FIELDS = ['bridge', 'from', 'to', 'source', 'mid', 'flow_id', 'start_at', 'end_at', 'duration', 'status', 'recording_url'];

let s: TestServer;
before(async () => {
  s = await startHookline({ retryScheduleMs: [30, 30, 30] });
});
after(async () => {
  await s.stop();
});

async function receiver(t: { after: (fn: () => Promise<void>) => void }): Promise<Receiver> {
  const rx = await startReceiver();
  t.after(() => rx.close());
  return rx;
}

async function webhook(body: Record<string, unknown>, key?: string): Promise<string> {
  const r = await s.api('POST', '/v1/webhooks', body, key === undefined ? {} : { key });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

type Ended = CallView & { id: string; started_at: string; ended_at: string; duration: number; source: string };

/** Places a call (OBD or C2C) and waits for it to end and its one report to settle. */
async function reported(route: '/v1/calls' | '/v1/click-to-call', body: Record<string, unknown>, hangupAfter?: string) {
  const res = await s.api('POST', route, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  if (hangupAfter) {
    await waitEvent(s.url, res.body.id, (e) => e.type === 'leg.initiated' && e.leg === hangupAfter);
    assert.equal((await s.api('POST', `/v1/calls/${res.body.id}/hangup`)).status, 200);
  }
  const call = (await waitEnded(s.url, res.body.id)) as Ended;
  const [d] = await waitSettled(s, call.id, 1);
  return { call, d: d! };
}

test('seed 001: without a template, the report is the seed’s JSON, field by field, once, at the end', async (t) => {
  const rx = await receiver(t);
  const wh = await webhook({ url: `${rx.url}/ack/receive` });
  assert.match(wh, /^wh_/);
  const { call, d } = await reported('/v1/calls', {
    from: '918919520001', to: '918867130001', bridge: '918068280001', flow_id: 123, webhook_id: wh,
    simulate: { ring_ms: 30, talk_ms: 1100, recording_url: 'https://youraudiofilelocation/' },
  });
  assert.equal(call.outcome, 'completed');
  assert.ok(call.duration >= 1);
  await waitFor(() => rx.requests.length === 1);
  const [r] = rx.requests;
  assert.equal(r!.method, 'POST');
  assert.equal(r!.url, '/ack/receive');
  assert.equal(r!.headers['content-type'], 'application/json');
  assert.equal(r!.headers['webhook-id'], d.id);
  // numbers unquoted, as in the seed's curl: "bridge": 91806828XXXX
  assert.match(r!.body, /"bridge":918068280001,"from":918919520001,"to":918867130001,/);
  const body = jsonBody(r!);
  assert.deepEqual(Object.keys(body), SEED_FIELDS);
  assert.deepEqual(body, {
    bridge: 918068280001,
    from: 918919520001,
    to: 918867130001,
    source: 'OBD',
    mid: call.id,
    flow_id: 123,
    start_at: sqlTime(call.started_at),
    end_at: sqlTime(call.ended_at),
    duration: String(call.duration),
    status: 'ANSWER',
    recording_url: 'https://youraudiofilelocation/',
  });
  assert.match(body.start_at, SQL_TIME);
  assert.match(body.end_at, SQL_TIME);
  assert.equal(typeof body.duration, 'string');
  // the log: one delivery, the report, to {format: 'push-report', id: webhook_id}
  assert.equal(d.event, 'report');
  assert.equal(d.event_type, 'call.ended');
  assert.deepEqual(d.target, { format: 'push-report', id: wh });
  assert.equal(d.status, 'succeeded');
  assert.equal(d.attempts[0]!.status_code, 200);
});

test('seed 001 types: numbers when digits after an optional + (dropped), else strings; unknowns null or empty; C2C is the source of click-to-call', async (t) => {
  const rx = await receiver(t);
  const wh = await webhook({ url: `${rx.url}/r/{{id}}` });
  const [plus, c2c] = await Promise.all([
    reported('/v1/calls', { from: '+919812345678', to: '0044207', flow_id: '0042', webhook_id: wh, simulate: { ring_ms: 20, outcome: 'busy' } }),
    reported('/v1/click-to-call', { from: '918919520001', to: 'sip:agent@example.com', bridge: '+918068280001', flow_id: '456', webhook_id: wh, simulate: { from: { ring_ms: 20 }, to: { ring_ms: 20, talk_ms: 20 } } }),
  ]);
  await waitFor(() => rx.requests.length === 2);
  const of = (c: Ended) => jsonBody(rx.requests.find((r) => r.url === `/r/${c.id}`)!);
  assert.deepEqual(of(plus.call), {
    bridge: null, from: 919812345678, to: '0044207', source: 'OBD', mid: plus.call.id, flow_id: '0042',
    start_at: sqlTime(plus.call.started_at), end_at: sqlTime(plus.call.ended_at), duration: '0', status: 'BUSY', recording_url: '',
  });
  assert.deepEqual(of(c2c.call), {
    bridge: 918068280001, from: 918919520001, to: 'sip:agent@example.com', source: 'C2C', mid: c2c.call.id, flow_id: 456,
    start_at: sqlTime(c2c.call.started_at), end_at: sqlTime(c2c.call.ended_at), duration: String(c2c.call.duration), status: 'ANSWER', recording_url: '',
  });
});

test('every outcome has its seed status: ANSWER, NOANSWER, BUSY, FAILED, CANCEL (OBD and C2C)', async (t) => {
  const rx = await receiver(t);
  const wh = await webhook({ url: `${rx.url}/r/{{id}}?status={{status}}` });
  const obd = (simulate: object, hangup?: string) => reported('/v1/calls', { from: '+919812345678', to: '+918867130001', webhook_id: wh, simulate }, hangup);
  const c2c = (simulate: object, hangup?: string) => reported('/v1/click-to-call', { from: '+919812345678', to: '+918867130001', webhook_id: wh, simulate }, hangup);
  const cases = await Promise.all([
    obd({ ring_ms: 20, talk_ms: 20 }).then((r) => ({ r, status: 'ANSWER', source: 'OBD' })),
    obd({ ring_ms: 20, outcome: 'no-answer' }).then((r) => ({ r, status: 'NOANSWER', source: 'OBD' })),
    obd({ ring_ms: 20, outcome: 'busy' }).then((r) => ({ r, status: 'BUSY', source: 'OBD' })),
    obd({ ring_ms: 20, outcome: 'failed' }).then((r) => ({ r, status: 'FAILED', source: 'OBD' })),
    obd({ ring_ms: 60_000 }, 'main').then((r) => ({ r, status: 'CANCEL', source: 'OBD' })),
    c2c({ from: { ring_ms: 20 }, to: { ring_ms: 20, talk_ms: 20 } }).then((r) => ({ r, status: 'ANSWER', source: 'C2C' })),
    c2c({ from: { ring_ms: 20, outcome: 'no-answer' } }).then((r) => ({ r, status: 'NOANSWER', source: 'C2C' })),
    c2c({ from: { ring_ms: 20 }, to: { ring_ms: 20, outcome: 'busy' } }).then((r) => ({ r, status: 'BUSY', source: 'C2C' })),
    c2c({ from: { ring_ms: 20, outcome: 'failed' } }).then((r) => ({ r, status: 'FAILED', source: 'C2C' })),
    c2c({ from: { ring_ms: 60_000 } }, 'from').then((r) => ({ r, status: 'CANCEL', source: 'C2C' })),
  ]);
  await waitFor(() => rx.requests.length === cases.length);
  for (const { r, status, source } of cases) {
    const got = rx.requests.filter((q) => target(q).path === `/r/${r.call.id}`);
    assert.equal(got.length, 1, `${source} ${status}: one report`);
    assert.equal(target(got[0]!).query.status, status);
    const body = jsonBody(got[0]!);
    assert.equal(body.status, status);
    assert.equal(body.source, source);
    assert.equal(body.from, 919812345678);
    assert.equal(body.duration, String(r.call.duration));
    if (status !== 'ANSWER') assert.equal(body.duration, '0');
    assert.equal(body.start_at, sqlTime(r.call.started_at));
    assert.equal(body.end_at, sqlTime(r.call.ended_at));
    assert.match(body.end_at, SQL_TIME);
    assert.deepEqual([r.d.event, r.d.target.format, r.d.target.id, r.d.status], ['report', 'push-report', wh, 'succeeded']);
  }
});

test('compose webhook (seed examples): URL, JSON and form templates, GET and PUT, headers as given', async (t) => {
  const rx = await receiver(t);
  const seedBody = '{\n  "id": "{{id}}",\n  "to": "{{to}}",\n  "status": "{{status}}",\n  "duration": "{{duration}}"\n}';
  const post = await webhook({ url: `${rx.url}/ack/receive?id={{id}}`, headers: { 'content-type': 'application/json', Authorization: 'Bearer %token%' }, body: seedBody });
  const get = await webhook({ method: 'GET', url: `${rx.url}/ack/receive?id={{id}}&to={{to}}&status={{status}}`, headers: { 'X-Token': 'abc' } });
  const put = await webhook({ method: 'PUT', url: `${rx.url}/ack/receive?call_id={{id}}&to={{to}}&message_status={{status}}`, body_format: 'form', body: 'id={{id}}&to={{to}}&status={{status}}&duration={{ duration }}&flow={flow_id}' });
  const putJson = await webhook({ method: 'PUT', url: `${rx.url}/put-default` });
  const place = (webhook_id: string) => reported('/v1/calls', { from: '918919520001', to: '+918867130001', flow_id: 'camp 7', webhook_id, simulate: { ring_ms: 20, talk_ms: 20 } });
  const [p, g, u, pj] = await Promise.all([place(post), place(get), place(put), place(putJson)]);
  await waitFor(() => rx.requests.length === 4);
  const find = (pred: (q: (typeof rx.requests)[number]) => boolean) => rx.requests.find(pred)!;

  const rp = find((q) => target(q).query.id === p.call.id && q.method === 'POST');
  assert.equal(target(rp).rawQuery, `id=${p.call.id}`);
  assert.equal(rp.headers.authorization, 'Bearer %token%');
  assert.equal(rp.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(rp.body), { id: p.call.id, to: '+918867130001', status: 'ANSWER', duration: String(p.call.duration) });
  assert.equal(rp.body, seedBody.replace('{{id}}', p.call.id).replace('{{to}}', '+918867130001').replace('{{status}}', 'ANSWER').replace('{{duration}}', String(p.call.duration)));

  const rg = find((q) => q.method === 'GET');
  assert.equal(target(rg).rawQuery, `id=${g.call.id}&to=%2B918867130001&status=ANSWER`);
  assert.equal(rg.body, '');
  assert.equal(rg.headers['content-type'], undefined);
  assert.equal(rg.headers['x-token'], 'abc');

  const ru = find((q) => q.method === 'PUT' && target(q).path === '/ack/receive');
  assert.equal(target(ru).rawQuery, `call_id=${u.call.id}&to=%2B918867130001&message_status=ANSWER`);
  assert.equal(ru.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(ru.body, `id=${u.call.id}&to=%2B918867130001&status=ANSWER&duration=${u.call.duration}&flow=camp+7`);

  const rj = find((q) => q.method === 'PUT' && target(q).path === '/put-default');
  assert.equal(rj.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(jsonBody(rj)), SEED_FIELDS);
  assert.equal(jsonBody(rj).mid, pj.call.id);
  for (const x of [p, g, u, pj]) assert.equal(x.d.event, 'report');
});

test('values with quotes and newlines stay valid JSON and exact form values', async (t) => {
  const rx = await receiver(t);
  const tricky = 'Ann "The Agent" \\ O\'Neil\r\n+91 & co=1 %41';
  const json = await webhook({ url: `${rx.url}/json`, body: '{"to": "{{to}}", "raw": {{to}}, "from": {{from}}, "note": "to {{to}}!", "d": {{duration}}}' });
  const form = await webhook({ url: `${rx.url}/form`, body_format: 'form', body: 'to={{to}}&from={{from}}' });
  const formDefault = await webhook({ url: `${rx.url}/form-default`, body_format: 'form' });
  const plain = await webhook({ url: `${rx.url}/plain?to={{to}}` });
  const place = (webhook_id: string) => reported('/v1/calls', { from: '918919520001', to: tricky, webhook_id, simulate: { ring_ms: 20, outcome: 'no-answer' } });
  const [, , fd] = await Promise.all([place(json), place(form), place(formDefault), place(plain)]);
  await waitFor(() => rx.requests.length === 4);
  const at = (path: string) => rx.requests.find((q) => target(q).path === path)!;
  assert.deepEqual(jsonBody(at('/json')), { to: tricky, raw: tricky, from: '918919520001', note: `to ${tricky}!`, d: '0' });
  assert.deepEqual(target(at('/form')).query, {});
  assert.deepEqual(Object.fromEntries(new URLSearchParams(at('/form').body)), { to: tricky, from: '918919520001' });
  assert.equal(at('/form').headers['content-type'], 'application/x-www-form-urlencoded');
  // the seed's fields, form-encoded
  assert.deepEqual(Object.fromEntries(new URLSearchParams(at('/form-default').body)), {
    bridge: '', from: '918919520001', to: tricky, source: 'OBD', mid: fd.call.id, flow_id: '',
    start_at: sqlTime(fd.call.started_at), end_at: sqlTime(fd.call.ended_at), duration: '0', status: 'NOANSWER', recording_url: '',
  });
  assert.equal(target(at('/plain')).query.to, tricky);
  assert.equal(jsonBody(at('/plain')).to, tricky);
});

test('only 200 and 202 count: 201 and 204 are failures and retried; always 204 ends dead', async (t) => {
  const rx = await receiver(t);
  const seen = new Map<string, number>();
  const plan: Record<string, number[]> = { '/retry': [201, 204, 202], '/ok200': [200], '/ok202': [202], '/always204': [204, 204, 204, 204] };
  rx.respond((q, res) => {
    const n = seen.get(q.url) ?? 0;
    seen.set(q.url, n + 1);
    res.writeHead(plan[q.url]![n] ?? 500).end();
  });
  const ids = await Promise.all(Object.keys(plan).map((p) => webhook({ url: `${rx.url}${p}` })));
  const results = await Promise.all(ids.map((webhook_id) => reported('/v1/calls', { from: '1', to: '2', webhook_id, simulate: { ring_ms: 10, outcome: 'busy' } })));
  const [retry, ok200, ok202, always204] = results.map((r) => r.d);
  assert.deepEqual(retry!.attempts.map((a) => a.status_code), [201, 204, 202]);
  assert.equal(retry!.status, 'succeeded');
  assert.match(retry!.attempts[0]!.error!, /HTTP 201 is not a success for the push-report format/);
  assert.match(retry!.attempts[1]!.error!, /HTTP 204/);
  assert.deepEqual([ok200!.status, ok200!.attempt_count, ok200!.last_status_code], ['succeeded', 1, 200]);
  assert.deepEqual([ok202!.status, ok202!.attempt_count, ok202!.last_status_code], ['succeeded', 1, 202]);
  assert.equal(always204!.status, 'dead');
  assert.deepEqual(always204!.attempts.map((a) => a.status_code), [204, 204, 204, 204]);
  // a retry is the same report with the same webhook-id
  const tries = rx.requests.filter((q) => q.url === '/retry');
  assert.equal(tries.length, 3);
  assert.equal(new Set(tries.map((q) => q.headers['webhook-id'])).size, 1);
  assert.equal(new Set(tries.map((q) => q.body)).size, 1);
});

test('a webhook with an unknown variable is refused when saved, listing the known names; bad references place no call', async () => {
  const check = (r: { status: number; headers: Headers; body: any }, field: string, name: string) => {
    assertProblem(r, 400, 'invalid_template', field);
    assert.ok(r.body.detail.includes(`{{${name}}}`), r.body.detail);
    for (const k of REPORT_VARS) assert.ok(r.body.detail.includes(k), `${k} in ${r.body.detail}`);
  };
  check(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack?id={{call_id}}' }), 'url', 'call_id');
  check(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body: '{"s": "{{Status}}"}' }), 'body', 'Status');
  check(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body_format: 'form', body: 'a={caller}' }), 'body', 'caller');
  check(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body: '{"x": {{constructor}}}' }), 'body', 'constructor');
  // a placeholder never closed is a typo, not text to send
  const unclosed = await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack?caller={{from', body: null });
  assertProblem(unclosed, 400, 'invalid_template', 'url');
  assert.equal(unclosed.body.detail, 'url: {{from is not closed; write {{from}}');
  assertProblem(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body: '{"to": "{{ to "}' }), 400, 'invalid_template', 'body');
  assertProblem(await s.api('POST', '/v1/callback-profiles', { name: 'x', url: 'http://127.0.0.1:9/cb?c={{caller' }), 400, 'invalid_template', 'url');
  // closed with one brace: the commonest typo
  const half = await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack?c={{from}' });
  assertProblem(half, 400, 'invalid_template', 'url');
  assert.equal(half.body.detail, 'url: {{from is not closed; write {{from}}');
  assertProblem(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body: '{"a":"{{ to }"}' }), 400, 'invalid_template', 'body');
  // a placeholder at the end of a JSON object is not a typo
  assert.equal((await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body: '{"a":{"b":{{duration}}}}' })).status, 201);
  assertProblem(await s.api('POST', '/v1/webhooks', { method: 'GET', url: 'http://127.0.0.1:9/ack', body: '{}' }), 400, 'invalid_field', 'body');
  assert.equal((await s.api('POST', '/v1/webhooks', { method: 'DELETE', url: 'http://127.0.0.1:9/ack' })).status, 400);
  // the content type follows body_format: a matching header (as in the seed's curl) is fine, another is refused
  assertProblem(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 400, 'invalid_field', 'headers.Content-Type');
  assertProblem(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body_format: 'form', headers: { 'content-type': 'application/json' } }), 400, 'invalid_field', 'headers.content-type');
  assertProblem(await s.api('POST', '/v1/webhooks', { method: 'GET', url: 'http://127.0.0.1:9/ack', headers: { 'content-type': 'application/json' } }), 400, 'invalid_field', 'headers.content-type');
  assertProblem(await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', headers: { 'Webhook-Id': 'x' } }), 400, 'invalid_field', 'headers.Webhook-Id');
  const ct = await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body_format: 'form', headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'X-A': '1' } });
  assert.equal(ct.status, 201, JSON.stringify(ct.body));
  assert.deepEqual(ct.body.headers, { 'X-A': '1' });
  assert.equal((await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/ack', body_format: 'xml' })).status, 400);
  // every known name, both spellings
  const all = REPORT_VARS.map((k, i) => (i % 2 ? `${k}={${k}}` : `${k}={{ ${k} }}`)).join('&');
  const ok = await s.api('POST', '/v1/webhooks', { url: `http://127.0.0.1:9/all?${all}`, body_format: 'form', body: all });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual([ok.body.method, ok.body.body_format], ['POST', 'form']);
  check(await s.api('PATCH', `/v1/webhooks/${ok.body.id}`, { url: 'http://127.0.0.1:9/x?{{nope}}' }), 'url', 'nope');
  assert.equal((await s.api('GET', `/v1/webhooks/${ok.body.id}`)).body.url, `http://127.0.0.1:9/all?${all}`);

  // another account's webhook, or none: 400 and no call
  const tenant = await createTenant(s.url, 'wh-tenant');
  const theirs = await webhook({ url: 'http://127.0.0.1:9/theirs' }, tenant.api_key);
  const before = await callCount(s.url);
  for (const webhook_id of [theirs, 'wh_nope']) {
    assertProblem(await s.api('POST', '/v1/calls', { from: '1', to: '2', webhook_id }), 400, 'unknown_reference', 'webhook_id');
    assertProblem(await s.api('POST', '/v1/click-to-call', { from: '1', to: '2', webhook_id }), 400, 'unknown_reference', 'webhook_id');
  }
  assert.equal(await callCount(s.url), before);
});
