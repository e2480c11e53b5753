/**
 * Issue 2: bad input on every call route answers a 4xx problem+json with a stable `code` (and the
 * field named), never a 500, and writes nothing (SPEC principle 6).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startHookline, type TestServer } from './helpers.ts';
import { assertProblem, callCount, getCall, waitEvent, type CallView } from './call-helpers.ts';

let s: TestServer;
let live: CallView;
let liveBefore: CallView;
before(async () => {
  s = await startHookline();
  // A call that stays up for the whole file: the transcript route needs one, and refused
  // transcript lines must not touch it.
  const r = await s.api('POST', '/v1/calls', { from: '+15559000001', to: '+15559000002', simulate: { ring_ms: 3_600_000 } });
  assert.equal(r.status, 201);
  live = r.body;
  // Let the engine play the call's first step, so that nothing but a refused request could change it.
  await waitEvent(s.url, live.id, (e) => e.type === 'leg.ringing', { what: 'the live call to ring' });
});
after(() => s.stop());

interface Case {
  name: string;
  path: () => string;
  valid: Record<string, unknown>;
  /** a required field to drop */
  required: string;
  /** [field path in the answer, body with that field of the wrong type] */
  wrongTypes: [string, Record<string, unknown>][];
  /** [field path in the answer, body with that unknown field] */
  unknowns: [string, Record<string, unknown>][];
}

const P = { from: '+15559000011', to: '+15559000012' };

const CASES: Case[] = [
  {
    name: 'POST /v1/calls',
    path: () => '/v1/calls',
    valid: P,
    required: 'to',
    wrongTypes: [
      ['from', { ...P, from: 15559000011 }],
      ['simulate.ring_ms', { ...P, simulate: { ring_ms: '10' } }],
      ['simulate.outcome', { ...P, simulate: { outcome: 'maybe' } }],
      ['simulate.transcript[0].message', { ...P, simulate: { transcript: [{ type: 'agent', message: 7 }] } }],
      ['metadata', { ...P, metadata: 'x' }],
    ],
    unknowns: [
      ['frm', { ...P, frm: '+1' }],
      ['simulate.ring', { ...P, simulate: { ring: 10 } }],
    ],
  },
  {
    name: 'POST /v1/click-to-call',
    path: () => '/v1/click-to-call',
    valid: P,
    required: 'from',
    wrongTypes: [
      ['to', { ...P, to: ['+1'] }],
      ['simulate.from.outcome', { ...P, simulate: { from: { outcome: 'answered' } } }],
      ['simulate.to.talk_ms', { ...P, simulate: { to: { talk_ms: -1 } } }],
    ],
    unknowns: [
      ['simulate.middle', { ...P, simulate: { middle: {} } }],
      ['simulate.from.ringing', { ...P, simulate: { from: { ringing: 1 } } }],
    ],
  },
  {
    name: 'POST /v1/inbound-calls',
    path: () => '/v1/inbound-calls',
    valid: P,
    required: 'from',
    wrongTypes: [
      ['tracking', { ...P, tracking: 'PR1' }],
      ['channel_id', { ...P, channel_id: 12 }],
      ['simulate.recording_url', { ...P, simulate: { recording_url: 'not a url' } }],
    ],
    unknowns: [['direction', { ...P, direction: 'inbound' }]],
  },
  {
    name: 'POST /v1/calls/{id}/transcript',
    path: () => `/v1/calls/${live.id}/transcript`,
    valid: { type: 'agent', message: 'hello' },
    required: 'message',
    wrongTypes: [
      ['type', { type: 1, message: 'hello' }],
      ['message', { type: 'agent', message: { text: 'hello' } }],
    ],
    unknowns: [['speaker', { type: 'agent', message: 'hello', speaker: 'x' }]],
  },
  {
    name: 'POST /v1/call-events',
    path: () => '/v1/call-events',
    valid: { event_id: 'bad-input-e1', call_id: 'bad-input-c1', type: 'leg.initiated', ...P, direction: 'outbound' },
    required: 'event_id',
    wrongTypes: [
      ['type', { event_id: 'e', call_id: 'c', type: 'call.started', ...P, direction: 'outbound' }],
      ['direction', { event_id: 'e', call_id: 'c', type: 'leg.initiated', ...P, direction: 'sideways' }],
      ['occurred_at', { event_id: 'e', call_id: 'c', type: 'leg.initiated', ...P, direction: 'outbound', occurred_at: 'yesterday' }],
      ['outcome', { event_id: 'e', call_id: 'c', type: 'call.ended', ...P, direction: 'outbound', outcome: 'done' }],
    ],
    unknowns: [['callId', { event_id: 'e', call_id: 'c', callId: 'c', type: 'leg.initiated', ...P, direction: 'outbound' }]],
  },
  {
    name: 'POST /v1/accounts',
    path: () => '/v1/accounts',
    valid: { name: 'acme' },
    required: 'name',
    wrongTypes: [['name', { name: 42 }]],
    unknowns: [['api_key', { name: 'acme', api_key: 'mine' }]],
  },
];

/** A JSON body just over 1 MiB. */
const OVERSIZE = JSON.stringify({ ...P, metadata: { blob: 'x'.repeat(1024 * 1024) } });

for (const c of CASES) {
  describe(c.name, () => {
    let count: number;
    before(async () => {
      count = await callCount(s.url);
      liveBefore = await getCall(s.url, live.id);
    });
    after(async () => {
      assert.equal(await callCount(s.url), count, `${c.name}: a refused request created a call`);
      assert.deepEqual(await getCall(s.url, live.id), liveBefore, `${c.name}: a refused request changed a call`);
    });

    test(`missing ${c.required}: 400 missing_field`, async () => {
      const body = { ...c.valid };
      delete body[c.required];
      const r = await s.api('POST', c.path(), body);
      assertProblem(r, 400, 'missing_field', c.required);
      assert.ok(r.body.errors.some((e: { field: string; code: string }) => e.field === c.required && e.code === 'missing_field'));
      assert.match(r.body.detail, new RegExp(c.required));
    });

    for (const [field, body] of c.wrongTypes) {
      test(`wrong ${field}: 400 invalid_field`, async () => {
        assertProblem(await s.api('POST', c.path(), body), 400, 'invalid_field', field);
      });
    }

    for (const [field, body] of c.unknowns) {
      test(`unknown ${field}: 400 unknown_field`, async () => {
        const r = await s.api('POST', c.path(), body);
        assertProblem(r, 400, 'unknown_field', field);
        assert.match(r.body.detail, new RegExp(field.replace(/[.[\]]/g, '\\$&')));
      });
    }

    test('several mistakes at once are all listed', async () => {
      const body: Record<string, unknown> = { ...c.valid, bogus_one: 1, bogus_two: 2 };
      delete body[c.required];
      const r = await s.api('POST', c.path(), body);
      assert.equal(r.status, 400);
      const fields = (r.body.errors as { field: string }[]).map((e) => e.field).sort();
      assert.deepEqual(fields, [c.required, 'bogus_one', 'bogus_two'].sort());
    });

    test('broken JSON: 400 invalid_json', async () => {
      assertProblem(await s.api('POST', c.path(), undefined, { raw: '{"from": "+1",' }), 400, 'invalid_json');
      assertProblem(await s.api('POST', c.path(), undefined, { raw: '{from: 1}' }), 400, 'invalid_json');
    });

    test('empty JSON body: 400 invalid_json', async () => {
      assertProblem(await s.api('POST', c.path(), undefined, { raw: '' }), 400, 'invalid_json');
    });

    test('a JSON array or scalar: 400 invalid_field', async () => {
      assertProblem(await s.api('POST', c.path(), []), 400, 'invalid_field');
      assertProblem(await s.api('POST', c.path(), 'hello'), 400, 'invalid_field');
    });

    test('a body over 1 MiB: 413 body_too_large', async () => {
      assertProblem(await s.api('POST', c.path(), undefined, { raw: OVERSIZE }), 413, 'body_too_large');
    });

    test('text/plain: 415 unsupported_media_type', async () => {
      const r = await s.api('POST', c.path(), undefined, { raw: JSON.stringify(c.valid), headers: { 'content-type': 'text/plain' } });
      assertProblem(r, 415, 'unsupported_media_type');
    });

    test('form encoding: 415 unsupported_media_type', async () => {
      const r = await s.api('POST', c.path(), undefined, { raw: 'from=1&to=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assertProblem(r, 415, 'unsupported_media_type');
    });
  });
}

describe('GET /v1/calls query', () => {
  const bad: [string, string, string][] = [
    ['limit=abc', 'invalid_field', 'query.limit'],
    ['limit=0', 'invalid_field', 'query.limit'],
    ['limit=101', 'invalid_field', 'query.limit'],
    ['limit=2.5', 'invalid_field', 'query.limit'],
    ['kind=conference', 'invalid_field', 'query.kind'],
    ['direction=up', 'invalid_field', 'query.direction'],
    ['outcome=done', 'invalid_field', 'query.outcome'],
    ['status=foo', 'invalid_field', 'query.status'],
    ['sort=asc', 'unknown_field', 'query.sort'],
    ['page=2', 'unknown_field', 'query.page'],
  ];
  for (const [qs, code, field] of bad) {
    test(`?${qs}: 400 ${code}`, async () => {
      assertProblem(await s.api('GET', `/v1/calls?${qs}`), 400, code, field);
    });
  }
});

test('path ids that do not exist are 404 not_found, never 500', async () => {
  for (const id of ['call_0000000000000000000000000', 'nope', encodeURIComponent("x' OR '1'='1"), 'a'.repeat(128)]) {
    assertProblem(await s.api('GET', `/v1/calls/${id}`), 404, 'not_found');
    assertProblem(await s.api('POST', `/v1/calls/${id}/hangup`), 404, 'not_found');
    assertProblem(await s.api('POST', `/v1/calls/${id}/transcript`, { type: 'agent', message: 'x' }), 404, 'not_found');
  }
  assertProblem(await s.api('GET', `/v1/calls/${'a'.repeat(129)}`), 400, 'invalid_field', 'params.id');
  assertProblem(await s.api('POST', `/v1/calls/${'a'.repeat(129)}/hangup`), 400, 'invalid_field', 'params.id');
  assertProblem(await s.api('GET', `/v1/calls/${'a'.repeat(600)}`), 400, 'invalid_field');
  assertProblem(await s.api('GET', '/v1/calls/%zz'), 400, 'invalid_field');
});

test('unknown routes answer 404 and known paths under another method 405 with Allow, as problem+json', async () => {
  assertProblem(await s.api('GET', '/v1/nothing-here'), 404, 'route_not_found');
  assertProblem(await s.api('GET', `/v1/calls/${live.id}/nothing-here`), 404, 'route_not_found');
  const del = await s.api('DELETE', '/v1/calls');
  assertProblem(del, 405, 'method_not_allowed');
  assert.equal(del.headers.get('allow'), 'GET, HEAD, POST');
  assert.equal((await s.api('DELETE', '/v1/calls/')).status, 405, 'a trailing slash is the same path, as for the router');
  const put = await s.api('PUT', `/v1/calls/${live.id}/hangup`);
  assertProblem(put, 405, 'method_not_allowed');
  assert.equal(put.headers.get('allow'), 'POST');
});

test('Idempotency-Key that is too long: 400 invalid_field, nothing written', async () => {
  const count = await callCount(s.url);
  const r = await s.api('POST', '/v1/calls', P, { headers: { 'idempotency-key': 'k'.repeat(256) } });
  assertProblem(r, 400, 'invalid_field', 'header.idempotency-key');
  assert.equal(await callCount(s.url), count);
});

test('the valid bodies of this file are accepted (the refusals above are not accidents)', async () => {
  for (const c of CASES) {
    const r = await s.api('POST', c.path(), c.valid);
    assert.equal(r.status, 201, `${c.name}: ${JSON.stringify(r.body)}`);
  }
});

test('an empty body with Content-Type: application/json is no body: bodiless routes answer as without the header', async () => {
  const json = { raw: '', headers: { 'content-type': 'application/json' } };
  const ep = await s.api('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/x' });
  assert.equal(ep.status, 201, JSON.stringify(ep.body));
  const c = await s.api('POST', '/v1/calls', { from: '+15559000011', to: '+15559000012', simulate: { ring_ms: 3_600_000 } });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  await waitEvent(s.url, c.body.id, (e) => e.type === 'leg.ringing', { what: 'the call to ring' });
  assert.equal((await s.api('POST', `/v1/calls/${c.body.id}/hangup`, undefined, json)).status, 200);
  const tested = await s.api('POST', `/v1/endpoints/${ep.body.id}/test`, undefined, json);
  assert.equal(tested.status, 200, JSON.stringify(tested.body));
  assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.body.id}`, undefined, json)).status, 204);
  // a route that needs a body still refuses an empty one
  assertProblem(await s.api('POST', '/v1/calls', undefined, json), 400, 'invalid_json');
});

test('an empty chunked body with Content-Type: application/json is no body too (its length is not known before it is read)', async () => {
  const ep = await s.api('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/chunked' });
  assert.equal(ep.status, 201, JSON.stringify(ep.body));
  const send = (method: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const rq = httpRequest(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    rq.on('error', reject);
    rq.end(); // no chunk: the terminating zero-length chunk only
  });
  const tested = await send('POST', `/v1/endpoints/${ep.body.id}/test`);
  assert.equal(tested.status, 200, tested.body);
  const refused = await send('POST', '/v1/calls');
  assert.equal(refused.status, 400, refused.body);
  assert.match(refused.body, /invalid_json/);
});
