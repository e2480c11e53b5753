/**
 * Issue 2: ingestion from an external switch (POST /v1/call-events). The first event creates the
 * call, exact repeats change nothing, impossible transitions are 409, and a call gets exactly one
 * call.ended whatever the switch sends (or fails to send).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startHookline, type TestServer } from './helpers.ts';
import { assertEndedTimeline, assertProblem, callCount, getCall, listAll, timeline, waitEnded } from './call-helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

const uid = () => randomUUID();
const PARTIES = { from: '+15558000001', to: '+15558000002', direction: 'outbound' };

function post(body: Record<string, unknown>, key?: string) {
  return s.api('POST', '/v1/call-events', body, key === undefined ? undefined : { key });
}

/** Sends the first event of a new switch call and answers the Hookline call. */
async function open(callId: string, type = 'leg.initiated', extra: Record<string, unknown> = {}) {
  const r = await post({ event_id: uid(), call_id: callId, type, ...PARTIES, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a switch call from first event to end: 201 then 200s, external_id kept, one call.ended', async () => {
  const sw = `sw-${uid()}`;
  const t0 = Date.parse('2030-01-01T10:00:00.000Z');
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const first = await post({ event_id: 'e1', call_id: sw, type: 'leg.initiated', occurred_at: at(0), ...PARTIES, channel_id: 'ch-9' });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.match(first.body.id, /^call_/);
  assert.notEqual(first.body.id, sw);
  assert.equal(first.body.external_id, sw);
  assert.equal(first.body.kind, 'outbound');
  assert.equal(first.body.direction, 'outbound');
  assert.equal(first.body.channel_id, 'ch-9');

  const steps = [
    { event_id: 'e2', type: 'leg.ringing', occurred_at: at(1) },
    { event_id: 'e3', type: 'leg.answered', occurred_at: at(3) },
    { event_id: 'e4', type: 'call.transcript', occurred_at: at(4), speaker: 'agent', message: 'Hello from the switch' },
    { event_id: 'e5', type: 'call.ended', occurred_at: at(10), outcome: 'completed', recording_url: 'https://rec.example.com/sw.mp3' },
  ];
  for (const st of steps) {
    const r = await post({ call_id: sw, ...st });
    assert.equal(r.status, 200, `${st.type}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.id, first.body.id);
    assert.equal(r.body.external_id, sw);
  }
  const call = await getCall(s.url, first.body.id);
  assertEndedTimeline(call);
  assert.equal(call.outcome, 'completed');
  assert.deepEqual(timeline(call), ['leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.transcript', 'call.ended']);
  assert.deepEqual(call.events.map((e) => e.occurred_at), [at(0), at(1), at(3), at(4), at(10)]);
  assert.equal(call.duration, 7);
  assert.equal(call.recording_url, 'https://rec.example.com/sw.mp3');
  assert.deepEqual(call.transcript.map(({ type, message }) => ({ type, message })), [{ type: 'agent', message: 'Hello from the switch' }]);
  assert.equal(call.legs.length, 1);
  assert.equal(call.legs[0]!.outcome, 'completed');

  const found = await listAll(s.url, `external_id=${encodeURIComponent(sw)}`);
  assert.deepEqual(found.map((c) => c.id), [first.body.id]);
});

describe('idempotent by event_id', () => {
  test('the same event again answers 200 and adds no event', async () => {
    const sw = `sw-${uid()}`;
    const ev = { event_id: uid(), call_id: sw, type: 'leg.initiated', ...PARTIES };
    const r1 = await post(ev);
    assert.equal(r1.status, 201);
    const r2 = await post(ev);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.id, r1.body.id);
    assert.equal(r2.body.events.length, 1);

    const ring = { event_id: uid(), call_id: sw, type: 'leg.ringing' };
    assert.equal((await post(ring)).status, 200);
    const again = await post(ring);
    assert.equal(again.status, 200);
    const call = await getCall(s.url, r1.body.id);
    assert.deepEqual(timeline(call), ['leg.initiated/main', 'leg.ringing/main']);
    assert.deepEqual(call.events.map((e) => e.seq), [1, 2]);
    assert.deepEqual((await listAll(s.url, `external_id=${sw}`)).length, 1);
  });

  test('concurrent repeats of a first event make one call with one event', async () => {
    const sw = `sw-${uid()}`;
    const ev = { event_id: uid(), call_id: sw, type: 'leg.initiated', ...PARTIES };
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(ev)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
    const call = await getCall(s.url, answers[0]!.body.id);
    assert.equal(call.events.length, 1);
  });

  test('different first events of one switch call at once make one call', async () => {
    const sw = `sw-${uid()}`;
    const answers = await Promise.all([
      post({ event_id: uid(), call_id: sw, type: 'leg.initiated', ...PARTIES }),
      post({ event_id: uid(), call_id: sw, type: 'call.transcript', message: 'a', ...PARTIES }),
      post({ event_id: uid(), call_id: sw, type: 'call.transcript', message: 'b', ...PARTIES }),
    ]);
    for (const a of answers) assert.ok(a.status === 200 || a.status === 201, JSON.stringify(a.body));
    assert.equal(answers.filter((a) => a.status === 201).length, 1);
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
    const call = await getCall(s.url, answers[0]!.body.id);
    assert.equal(call.events.length, 3);
    assert.deepEqual(call.events.map((e) => e.seq), [1, 2, 3]);
    assert.equal((await listAll(s.url, `external_id=${sw}`)).length, 1);
  });
});

describe('impossible transitions are 409 and change nothing', () => {
  test('leg.answered twice: invalid_transition, also when the same refused event comes again', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.ringing');
    assert.equal((await post({ event_id: uid(), call_id: sw, type: 'leg.answered' })).status, 200);
    const before = await getCall(s.url, c.id);
    const twice = { event_id: uid(), call_id: sw, type: 'leg.answered' };
    assertProblem(await post(twice), 409, 'invalid_transition');
    // A refused event is not remembered as ingested: sending it again is refused again.
    assertProblem(await post(twice), 409, 'invalid_transition');
    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'leg.ringing' }), 409, 'invalid_transition');
    assert.deepEqual(await getCall(s.url, c.id), before);
  });

  test('an answer after the end and a second call.ended: call_already_ended', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.ringing');
    const end = await post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'no-answer' });
    assert.equal(end.status, 200);
    assert.equal(end.body.status, 'ended');
    assert.equal(end.body.outcome, 'no-answer');
    const ended = await getCall(s.url, c.id);
    assertEndedTimeline(ended);

    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'leg.answered' }), 409, 'call_already_ended');
    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'completed' }), 409, 'call_already_ended');
    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'call.ended' }), 409, 'call_already_ended');
    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'call.transcript', message: 'late' }), 409, 'call_already_ended');
    assertProblem(await post({ event_id: uid(), call_id: sw, type: 'call.error', message: 'late' }), 409, 'call_already_ended');
    assertProblem(await s.api('POST', `/v1/calls/${c.id}/hangup`), 409, 'call_already_ended');
    assert.deepEqual(await getCall(s.url, c.id), ended);
  });

  test('a call nobody answered cannot end "completed": 409, the call unchanged; the outcome that happened ends it', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.ringing');
    const before = await getCall(s.url, c.id);
    const r = await post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'completed' });
    assertProblem(r, 409, 'invalid_transition');
    assert.match(r.body.detail, /needs an answered call/);
    assert.deepEqual(await getCall(s.url, c.id), before);
    const end = await post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'no-answer' });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    assert.equal(end.body.outcome, 'no-answer');
  });

  test('a flood of end events at once still gives one call.ended', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.answered');
    const answers = await Promise.all(['completed', 'failed', 'busy', 'cancelled', 'completed'].map((outcome) =>
      post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome })));
    assert.equal(answers.filter((a) => a.status === 200).length, 1, JSON.stringify(answers.map((a) => a.body)));
    for (const a of answers.filter((x) => x.status !== 200)) assertProblem(a, 409, 'call_already_ended');
    assertEndedTimeline(await getCall(s.url, c.id));
  });
});

describe('the first event of a call', () => {
  for (const field of ['from', 'to', 'direction'] as const) {
    test(`without ${field}: 400 missing_field naming it, nothing written`, async () => {
      const count = await callCount(s.url);
      const sw = `sw-${uid()}`;
      const ev: Record<string, unknown> = { event_id: uid(), call_id: sw, type: 'leg.initiated', ...PARTIES };
      delete ev[field];
      assertProblem(await post(ev), 400, 'missing_field', field);
      assert.equal(await callCount(s.url), count);
      // The refused event id is free: the complete event is then accepted.
      const ok = await post({ ...ev, ...PARTIES });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    });
  }

  test('later events need no parties', async () => {
    const sw = `sw-${uid()}`;
    await open(sw);
    const r = await post({ event_id: uid(), call_id: sw, type: 'leg.ringing' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('a call.ended alone makes a whole, ended call; without an outcome it is cancelled', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'call.ended');
    assert.equal(c.status, 'ended');
    const call = await getCall(s.url, c.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'cancelled');
  });

  test('an inbound switch call takes direction and kind inbound; its leg is the caller', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.ringing', { direction: 'inbound', from: '+15558111111', to: '+15558222222' });
    assert.equal(c.kind, 'inbound');
    assert.equal(c.direction, 'inbound');
    await post({ event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'busy' });
    const call = await getCall(s.url, c.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'busy');
    assert.deepEqual(call.legs.map((l) => [l.name, l.number, l.outcome]), [['main', '+15558111111', 'busy']]);
  });

  test('a click-to-call from a switch keeps its two legs', async () => {
    const sw = `sw-${uid()}`;
    const c = await open(sw, 'leg.initiated', { kind: 'click_to_call', leg: 'from' });
    assert.equal(c.kind, 'click_to_call');
    for (const [type, leg] of [['leg.answered', 'from'], ['leg.initiated', 'to'], ['leg.answered', 'to']] as const) {
      assert.equal((await post({ event_id: uid(), call_id: sw, type, leg })).status, 200);
    }
    assert.equal((await post({ event_id: uid(), call_id: sw, type: 'call.ended' })).status, 200);
    const call = await getCall(s.url, c.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'completed');
    assert.deepEqual(call.legs.map((l) => [l.name, l.number, l.outcome]), [['from', PARTIES.from, 'completed'], ['to', PARTIES.to, 'completed']]);
  });
});

describe('a switch that never sends the end', () => {
  let idle: TestServer;
  before(async () => {
    idle = await startHookline({ ingestIdleMs: 150 });
  });
  after(() => idle.stop());

  for (const answered of [false, true]) {
    test(`Hookline ends the ${answered ? 'answered' : 'unanswered'} call itself, once`, async () => {
      const sw = `sw-${uid()}`;
      const r = await idle.api('POST', '/v1/call-events', { event_id: uid(), call_id: sw, type: answered ? 'leg.answered' : 'leg.ringing', ...PARTIES });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const call = await waitEnded(idle.url, r.body.id);
      assertEndedTimeline(call);
      assert.equal(call.outcome, answered ? 'completed' : 'failed');
      const types = call.events.map((e) => e.type);
      assert.deepEqual(types.slice(-2), ['call.error', 'call.ended']);
      // The switch's own late end is refused: still one call.ended.
      const late = await idle.api('POST', '/v1/call-events', { event_id: uid(), call_id: sw, type: 'call.ended', outcome: 'completed' });
      assertProblem(late, 409, 'call_already_ended');
      assert.deepEqual(await getCall(idle.url, r.body.id), call);
    });
  }
});
