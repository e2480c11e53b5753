/**
 * Seed 000 on the wire: the `callback` parameter of the Outbound Calling and Click to Call APIs,
 * with callback profiles (GET and POST) and plain URLs, for every event and every outcome. Each
 * request is checked field by field on a real receiver, and in the delivery log.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitEnded, type CallView } from './call-helpers.ts';
import { startHookline, startReceiver, waitFor, type Received, type Receiver, type TestServer } from './helpers.ts';
import { jsonBody, sqlTime, target, waitSettled } from './per-call-helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline({ retryScheduleMs: [30, 30, 30] });
});
after(async () => {
  await s.stop();
});

/** A receiver for one test, closed when the test ends. */
async function receiver(t: { after: (fn: () => Promise<void>) => void }): Promise<Receiver> {
  const rx = await startReceiver();
  t.after(() => rx.close());
  return rx;
}

async function profile(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/v1/callback-profiles', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.id, /^SG_/);
  return r.body.id;
}

type Ended = CallView & { started_at: string | null; answered_at: string | null; ended_at: string | null; duration: number; recording_url: string | null; bridge: string | null };

/** The JSON object of all the variables (SPEC §5) that an event of this call sends. */
function vars(call: Ended, event: string, o: { leg: string; status: string; answered?: boolean; ended?: boolean }) {
  return {
    call_id: call.id,
    event,
    caller: call.from,
    callee: call.to,
    bridge: call.bridge,
    direction: call.direction,
    status: o.status,
    leg: o.leg,
    start_time: sqlTime(call.started_at),
    answer_time: o.answered || o.ended ? sqlTime(call.answered_at) : '',
    end_time: o.ended ? sqlTime(call.ended_at) : '',
    duration: o.ended ? call.duration : 0,
    recording_url: o.ended ? call.recording_url : null,
  };
}

const at = (rx: Receiver, path: string): Received[] => rx.requests.filter((r) => target(r).path === path);

function assertJsonPost(r: Received, expected: unknown): void {
  assert.equal(r.method, 'POST', r.url);
  assert.equal(r.headers['content-type'], 'application/json', r.url);
  assert.deepEqual(jsonBody(r), expected, r.url);
}

test('seed 000, Outbound Calling: call_start, call_answer and call_end reach their profiles and URLs', async (t) => {
  const rx = await receiver(t);
  // a POST profile without a body template (JSON of all the variables), a GET profile, and a
  // POST profile with a body template and custom headers
  const a = await profile({ name: 'start', url: `${rx.url}/profile/start?id={{call_id}}` });
  const b = await profile({
    name: 'answer', method: 'GET', headers: { 'X-Api-Key': 'k-123' },
    url: `${rx.url}/profile/answer?caller={{caller}}&callee={callee}&event={{ event }}&status={{status}}&leg={{leg}}&at={{answer_time}}`,
  });
  const c = await profile({
    name: 'end', url: `${rx.url}/profile/end/{{call_id}}`, headers: { Authorization: 'Bearer %token%', 'X-Tenant': 'acme' },
    body: '{"id": "{{call_id}}", "who": "{caller}", "status": "{{status}}", "secs": {{duration}}, "rec": {{recording_url}}, "leg": "{{leg}}"}',
  });
  // the seed's URLs, on the local receiver
  const u1 = `${rx.url}/2cXX9-6XX0-4XX7-bXX9-aeXX31?caller={{caller}}`;
  const u2 = `${rx.url}/2cXX9-6XX0-4XX7-bXX9-aeXX1?caller={{caller}}`;
  const u3 = `${rx.url}/2cXX89-6XX0-4XX7-bXX9-aeXX1?callee={callee}`;
  const res = await s.api('POST', '/v1/calls', {
    from: '+919812345678', to: '+918867130001', bridge: '+918068280001',
    simulate: { ring_ms: 50, talk_ms: 1100, recording_url: 'https://rec.example.com/r/1.mp3' },
    callback: {
      Call_start: { callback_profile: [a], url: [u1] },
      call_answer: { Callback_Profile: [b], URL: [u1] },
      CALL_END: { callback_profile: [c], url: [u2, u3] },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.callback, {
    call_start: { callback_profile: [a], url: [u1] },
    call_answer: { callback_profile: [b], url: [u1] },
    call_end: { callback_profile: [c], url: [u2, u3] },
  });
  const call = (await waitEnded(s.url, res.body.id)) as Ended;
  assert.equal(call.outcome, 'completed');
  assert.ok(call.duration >= 1);
  const ds = await waitSettled(s, call.id, 7);
  await waitFor(() => rx.requests.length === 7);

  const start = vars(call, 'call_start', { leg: 'main', status: 'initiated' });
  const answer = vars(call, 'call_answer', { leg: 'main', status: 'answered', answered: true });
  const end = vars(call, 'call_end', { leg: '', status: 'completed', ended: true });
  assert.equal(end.recording_url, 'https://rec.example.com/r/1.mp3');
  assert.match(end.end_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  // the plain URLs: POST of all the variables, caller URL-encoded (+ → %2B); one target, in order
  const r1 = at(rx, '/2cXX9-6XX0-4XX7-bXX9-aeXX31');
  assert.equal(r1.length, 2);
  for (const r of r1) assert.equal(target(r).rawQuery, 'caller=%2B919812345678');
  assertJsonPost(r1[0]!, start);
  assertJsonPost(r1[1]!, answer);
  const [r2] = at(rx, '/2cXX9-6XX0-4XX7-bXX9-aeXX1');
  assert.equal(target(r2!).rawQuery, 'caller=%2B919812345678');
  assertJsonPost(r2!, end);
  const [r3] = at(rx, '/2cXX89-6XX0-4XX7-bXX9-aeXX1');
  assert.equal(target(r3!).rawQuery, 'callee=%2B918867130001');
  assertJsonPost(r3!, end);

  // profile a: POST, no body template → the JSON of all the variables
  const [pa] = at(rx, '/profile/start');
  assert.equal(target(pa!).rawQuery, `id=${call.id}`);
  assertJsonPost(pa!, start);
  // profile b: GET places what its URL says, and sends no body
  const [pb] = at(rx, '/profile/answer');
  assert.equal(pb!.method, 'GET');
  assert.equal(pb!.body, '');
  assert.equal(pb!.headers['content-type'], undefined);
  assert.equal(pb!.headers['x-api-key'], 'k-123');
  assert.match(target(pb!).rawQuery, /^caller=%2B919812345678&callee=%2B918867130001&event=call_answer&status=answered&leg=main&at=\d{4}-\d\d-\d\d%20\d\d%3A\d\d%3A\d\d$/);
  assert.deepEqual(target(pb!).query, { caller: call.from, callee: call.to, event: 'call_answer', status: 'answered', leg: 'main', at: answer.answer_time });
  // profile c: its body template, values JSON-escaped, and its headers as given
  const [pc] = at(rx, `/profile/end/${call.id}`);
  assert.equal(pc!.headers.authorization, 'Bearer %token%');
  assert.equal(pc!.headers['x-tenant'], 'acme');
  assertJsonPost(pc!, { id: call.id, who: call.from, status: 'completed', secs: call.duration, rec: 'https://rec.example.com/r/1.mp3', leg: '' });

  // the delivery log: the format's event names and {format: 'callback', id}
  const log = ds.map((d) => [d.event, d.event_type, d.target.format, d.target.id, d.status, d.attempt_count].join(' ')).sort();
  assert.deepEqual(log, [
    `call_answer leg.answered callback ${b} succeeded 1`,
    `call_answer leg.answered callback url:${u1} succeeded 1`,
    `call_end call.ended callback ${c} succeeded 1`,
    `call_end call.ended callback url:${u2} succeeded 1`,
    `call_end call.ended callback url:${u3} succeeded 1`,
    `call_start leg.initiated callback ${a} succeeded 1`,
    `call_start leg.initiated callback url:${u1} succeeded 1`,
  ].sort());
  // every request carries its delivery's id
  assert.deepEqual(rx.requests.map((r) => r.headers['webhook-id']).sort(), ds.map((d) => d.id).sort());
});

test('seed 000, Click to Call: from/to call_start, from/to call_answer and call_end, 10 targets', async (t) => {
  const rx = await receiver(t);
  const events = ['from_call_start', 'to_call_start', 'from_call_answer', 'to_call_answer', 'call_end'] as const;
  const ids: Record<string, string> = {};
  for (const e of events) ids[e] = await profile({ name: e, url: `${rx.url}/SG/${e}?leg={{leg}}&status={{status}}` });
  // the seed's URLs as written, double slashes included
  const urls: Record<string, string> = {
    from_call_start: `${rx.url}/2c2xxxx?caller={{caller}}`,
    to_call_start: `${rx.url}//2c2xxxxxxxxxxx?caller={{caller}}`,
    from_call_answer: `${rx.url}//2c2xxxxxxxxxxx?caller={{caller}}`,
    to_call_answer: `${rx.url}//2c2xxxxxxxxx?caller={{caller}}`,
    call_end: `${rx.url}//2c2xxxxxxxx?caller={{caller}}`,
  };
  const res = await s.api('POST', '/v1/click-to-call', {
    from: '+919812345678', to: '+918867130001',
    simulate: { from: { ring_ms: 40 }, to: { ring_ms: 40, talk_ms: 60 } },
    callback: {
      From_Call_Start: { Callback_profile: [ids.from_call_start], Url: [urls.from_call_start] },
      TO_CALL_START: { CALLBACK_PROFILE: [ids.to_call_start], URL: [urls.to_call_start] },
      from_call_answer: { callback_profile: [ids.from_call_answer], url: [urls.from_call_answer] },
      To_Call_Answer: { callback_profile: [ids.to_call_answer], url: [urls.to_call_answer] },
      Call_End: { callback_profile: [ids.call_end], url: [urls.call_end] },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const call = (await waitEnded(s.url, res.body.id)) as Ended;
  assert.equal(call.outcome, 'completed');
  const ds = await waitSettled(s, call.id, 10);
  await waitFor(() => rx.requests.length === 10);

  const expected: Record<string, ReturnType<typeof vars>> = {
    from_call_start: vars(call, 'from_call_start', { leg: 'from', status: 'initiated' }),
    from_call_answer: vars(call, 'from_call_answer', { leg: 'from', status: 'answered', answered: true }),
    // leg to is dialled once leg from has answered: the call has an answer time by then
    to_call_start: vars(call, 'to_call_start', { leg: 'to', status: 'initiated', answered: true }),
    to_call_answer: vars(call, 'to_call_answer', { leg: 'to', status: 'answered', answered: true }),
    call_end: vars(call, 'call_end', { leg: '', status: 'completed', ended: true }),
  };
  for (const e of events) {
    const [p] = at(rx, `/SG/${e}`);
    assert.ok(p, `profile of ${e} called`);
    assertJsonPost(p, expected[e]);
    assert.deepEqual(target(p).query, { leg: expected[e]!.leg, status: expected[e]!.status });
  }
  const byUrl = rx.requests.filter((r) => target(r).path.includes('2c2'));
  assert.equal(byUrl.length, 5);
  for (const r of byUrl) {
    assert.equal(target(r).rawQuery, 'caller=%2B919812345678');
    const body = jsonBody(r);
    assert.equal(urls[body.event]!.slice(rx.url.length), r.url.replace('%2B919812345678', '{{caller}}'), `${body.event} → ${r.url}`);
    assertJsonPost(r, expected[body.event]);
  }
  // the log, in event order: each event names its format's event and its targets
  const order = ['from_call_start', 'from_call_answer', 'to_call_start', 'to_call_answer', 'call_end'];
  assert.deepEqual(ds.map((d) => `${d.event}:${d.target.format}:${d.status}`), order.flatMap((e) => [`${e}:callback:succeeded`, `${e}:callback:succeeded`]));
  for (const e of events) {
    assert.deepEqual(ds.filter((d) => d.event === e).map((d) => d.target.id).sort(), [ids[e]!, `url:${urls[e]}`].sort());
  }
});

/** Places calls whose every event goes to one URL (one target, so in order) and answers what each received. */
async function eventsPerCall(rx: Receiver, path: string, calls: { kind: 'obd' | 'c2c'; simulate: object; hangupAfter?: string }[]) {
  const all = calls.map(async (c) => {
    const url = `${rx.url}/${path}/{{call_id}}?event={{event}}`;
    const evs = c.kind === 'obd' ? ['call_start', 'call_answer', 'call_end'] : ['from_call_start', 'to_call_start', 'from_call_answer', 'to_call_answer', 'call_end'];
    const callback = Object.fromEntries(evs.map((e) => [e, { url: [url] }]));
    const res = await s.api('POST', c.kind === 'obd' ? '/v1/calls' : '/v1/click-to-call', { from: '+919812345678', to: '+918867130001', simulate: c.simulate, callback });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    if (c.hangupAfter) {
      await waitFor(() => rx.requests.some((r) => target(r).path === `/${path}/${res.body.id}` && target(r).query.event === c.hangupAfter));
      const h = await s.api('POST', `/v1/calls/${res.body.id}/hangup`);
      assert.equal(h.status, 200, JSON.stringify(h.body));
    }
    const call = (await waitEnded(s.url, res.body.id)) as Ended;
    const ds = await waitSettled(s, call.id, countCallbacks(call));
    const got = at(rx, `/${path}/${call.id}`);
    assert.equal(got.length, ds.length);
    for (const r of got) assert.equal(r.headers['content-type'], 'application/json');
    return { call, ds, got: got.map((r) => jsonBody(r)) };
  });
  return Promise.all(all);
}

/** How many callback events a call's timeline has (every one is listed in these tests). */
function countCallbacks(call: Ended): number {
  return call.events.filter((e) => e.type === 'leg.initiated' || e.type === 'leg.answered' || e.type === 'call.ended').length;
}

test('every outcome of an outbound call: answered, busy, no answer, failed, cancelled by hangup', async (t) => {
  const rx = await receiver(t);
  const [answered, busy, noAnswer, failed, cancelled] = await eventsPerCall(rx, 'obd', [
    { kind: 'obd', simulate: { ring_ms: 30, talk_ms: 60 } },
    { kind: 'obd', simulate: { ring_ms: 30, outcome: 'busy' } },
    { kind: 'obd', simulate: { ring_ms: 30, outcome: 'no-answer' } },
    { kind: 'obd', simulate: { ring_ms: 30, outcome: 'failed' } },
    { kind: 'obd', simulate: { ring_ms: 60_000 }, hangupAfter: 'call_start' },
  ]);
  const start = (c: Ended) => vars(c, 'call_start', { leg: 'main', status: 'initiated' });
  const end = (c: Ended, status: string) => vars(c, 'call_end', { leg: '', status, ended: true });
  assert.deepEqual(answered!.got, [start(answered!.call), vars(answered!.call, 'call_answer', { leg: 'main', status: 'answered', answered: true }), end(answered!.call, 'completed')]);
  for (const [r, outcome] of [[busy, 'busy'], [noAnswer, 'no-answer'], [failed, 'failed'], [cancelled, 'cancelled']] as const) {
    assert.equal(r!.call.outcome, outcome);
    assert.deepEqual(r!.got, [start(r!.call), end(r!.call, outcome)], outcome);
    assert.equal(r!.got[1]!.answer_time, '');
    assert.equal(r!.got[1]!.duration, 0);
    assert.deepEqual(r!.ds.map((d) => `${d.event} ${d.event_type} ${d.target.format} ${d.status}`), [
      'call_start leg.initiated callback succeeded', 'call_end call.ended callback succeeded',
    ], outcome);
  }
});

test('every outcome of a click-to-call: either leg busy, no answer or failed, cancelled, answered', async (t) => {
  const rx = await receiver(t);
  const [fromBusy, fromNoAnswer, toBusy, toNoAnswer, toFailed, cancelled, answered] = await eventsPerCall(rx, 'c2c', [
    { kind: 'c2c', simulate: { from: { ring_ms: 30, outcome: 'busy' } } },
    { kind: 'c2c', simulate: { from: { ring_ms: 30, outcome: 'no-answer' } } },
    { kind: 'c2c', simulate: { from: { ring_ms: 30 }, to: { ring_ms: 30, outcome: 'busy' } } },
    { kind: 'c2c', simulate: { from: { ring_ms: 30 }, to: { ring_ms: 30, outcome: 'no-answer' } } },
    { kind: 'c2c', simulate: { from: { ring_ms: 30 }, to: { ring_ms: 30, outcome: 'failed' } } },
    { kind: 'c2c', simulate: { from: { ring_ms: 60_000 } }, hangupAfter: 'from_call_start' },
    { kind: 'c2c', simulate: { from: { ring_ms: 30 }, to: { ring_ms: 30, talk_ms: 50 } } },
  ]);
  const fromStart = (c: Ended) => vars(c, 'from_call_start', { leg: 'from', status: 'initiated' });
  const fromAnswer = (c: Ended) => vars(c, 'from_call_answer', { leg: 'from', status: 'answered', answered: true });
  const toStart = (c: Ended) => vars(c, 'to_call_start', { leg: 'to', status: 'initiated', answered: true });
  const end = (c: Ended, status: string) => vars(c, 'call_end', { leg: '', status, ended: true });
  for (const [r, outcome] of [[fromBusy, 'busy'], [fromNoAnswer, 'no-answer'], [cancelled, 'cancelled']] as const) {
    assert.equal(r!.call.outcome, outcome);
    assert.deepEqual(r!.got, [fromStart(r!.call), end(r!.call, outcome)], outcome);
  }
  for (const [r, outcome] of [[toBusy, 'busy'], [toNoAnswer, 'no-answer'], [toFailed, 'failed']] as const) {
    assert.equal(r!.call.outcome, outcome);
    assert.deepEqual(r!.got, [fromStart(r!.call), fromAnswer(r!.call), toStart(r!.call), end(r!.call, outcome)], outcome);
    assert.deepEqual(r!.ds.map((d) => d.event), ['from_call_start', 'from_call_answer', 'to_call_start', 'call_end']);
  }
  const c = answered!.call;
  assert.deepEqual(answered!.got, [fromStart(c), fromAnswer(c), toStart(c), vars(c, 'to_call_answer', { leg: 'to', status: 'answered', answered: true }), end(c, 'completed')]);
});

test('values with quotes and newlines: URL-encoded in URLs, JSON-escaped in bodies; lists de-duplicated, once per event', async (t) => {
  const rx = await receiver(t);
  rx.respond((_r, res) => {
    res.writeHead(204).end();
  }); // any 2xx is a success for callbacks
  const tricky = 'Ann "The Caller" O\'Neil\n+91 & co\\';
  const p = await profile({ name: 'tricky', url: `${rx.url}/p?caller={{caller}}`, body: '{"caller": "{{caller}}", "raw": {{caller}}, "msg": "from {{caller}} to {callee}"}' });
  const g = await profile({ name: 'get', method: 'GET', url: `${rx.url}/g/{{caller}}` });
  const u = `${rx.url}/u?c={{caller}}`;
  const res = await s.api('POST', '/v1/calls', {
    from: tricky, to: '+1 555 0100', simulate: { ring_ms: 20, outcome: 'busy' },
    callback: { call_start: { callback_profile: [p, p, g], url: [u, u] }, call_end: { callback_profile: [p] } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.callback.call_start, { callback_profile: [p, g], url: [u] });
  const call = (await waitEnded(s.url, res.body.id)) as Ended;
  const ds = await waitSettled(s, call.id, 4);
  assert.ok(ds.every((d) => d.status === 'succeeded' && d.last_status_code === 204));
  await waitFor(() => rx.requests.length === 4);
  const ps = at(rx, '/p');
  assert.deepEqual(ps.map((r) => jsonBody(r)), ['call_start', 'call_end'].map(() => ({ caller: tricky, raw: tricky, msg: `from ${tricky} to +1 555 0100` })));
  for (const r of ps) assert.equal(target(r).query.caller, tricky);
  const [gr] = rx.requests.filter((r) => r.url.startsWith('/g/'));
  assert.equal(gr!.method, 'GET');
  assert.equal(decodeURIComponent(gr!.url.slice(3)), tricky);
  assert.ok(!gr!.url.slice(3).includes('/') && !gr!.url.includes('"') && !gr!.url.includes(' '));
  const [ur] = at(rx, '/u');
  assert.equal(target(ur!).query.c, tricky);
  assertJsonPost(ur!, vars(call, 'call_start', { leg: 'main', status: 'initiated' }));
});

test('steps played in one batch (no ring, no talk time) still show each event as it was', async (t) => {
  const rx = await receiver(t);
  const u = `${rx.url}/batch?e={{event}}`;
  const res = await s.api('POST', '/v1/calls', {
    from: '+919812345678', to: '+918867130001', simulate: { ring_ms: 0, talk_ms: 0, recording_url: 'https://rec.example.com/2.mp3' },
    callback: { call_start: { url: [u] }, call_answer: { url: [u] }, call_end: { url: [u] } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const call = (await waitEnded(s.url, res.body.id)) as Ended;
  await waitSettled(s, call.id, 3);
  await waitFor(() => rx.requests.length === 3);
  // call_start carries no answer or end, call_answer no end, even when written with them
  assert.deepEqual(rx.requests.map((r) => jsonBody(r)), [
    vars(call, 'call_start', { leg: 'main', status: 'initiated' }),
    vars(call, 'call_answer', { leg: 'main', status: 'answered', answered: true }),
    vars(call, 'call_end', { leg: '', status: 'completed', ended: true }),
  ]);
  assert.equal(jsonBody(rx.requests[2]!).recording_url, 'https://rec.example.com/2.mp3');
});
