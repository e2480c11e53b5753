/**
 * Issue 2: outbound and inbound calls through every outcome, hangup before and after answer,
 * transcript lines from the API and from the scenario. Real server, real SQLite, no mocks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHookline, type TestServer } from './helpers.ts';
import { assertEndedTimeline, assertProblem, getCall, timeline, waitEnded, waitEvent, type CallView } from './call-helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

const LEG_OUTCOME = { answer: 'completed', busy: 'busy', 'no-answer': 'no-answer', failed: 'failed' } as const;

function expectedTimeline(prefix: readonly string[], outcome: keyof typeof LEG_OUTCOME): string[] {
  const ring = [...prefix, 'leg.initiated/main', 'leg.ringing/main'];
  switch (outcome) {
    case 'answer':
      return [...ring, 'leg.answered/main', 'call.ended'];
    case 'failed':
      return [...ring, 'call.error', 'call.ended'];
    default:
      return [...ring, 'call.ended'];
  }
}

async function place(route: string, body: Record<string, unknown>): Promise<CallView> {
  const r = await s.api('POST', route, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.id, /^call_/);
  assert.equal(r.body.status, 'accepted');
  assert.equal(r.body.outcome, null);
  return r.body;
}

const KINDS = [
  { kind: 'outbound', route: '/v1/calls', direction: 'outbound', prefix: ['call.accepted'] },
  // SPEC §2: `accepted` is outbound only, so an inbound call starts at its leg.
  { kind: 'inbound', route: '/v1/inbound-calls', direction: 'inbound', prefix: [] as string[] },
] as const;

for (const k of KINDS) {
  describe(`${k.kind} call`, () => {
    for (const outcome of ['answer', 'busy', 'no-answer', 'failed'] as const) {
      test(`simulate.outcome ${outcome} ends once with outcome ${LEG_OUTCOME[outcome]}`, async () => {
        const from = '+15551000001';
        const to = '+15552000002';
        const created = await place(k.route, { from, to, simulate: { ring_ms: 20, outcome, talk_ms: 30 } });
        assert.equal(created.kind, k.kind);
        assert.equal(created.direction, k.direction);

        const call = await waitEnded(s.url, created.id);
        assertEndedTimeline(call);
        assert.equal(call.kind, k.kind);
        assert.equal(call.direction, k.direction);
        assert.equal(call.from, from);
        assert.equal(call.to, to);
        assert.equal(call.outcome, LEG_OUTCOME[outcome]);
        assert.deepEqual(timeline(call), expectedTimeline(k.prefix, outcome));
        assert.equal(call.events.at(-1)!.outcome, LEG_OUTCOME[outcome]);

        // One leg, named main; it dials `to` (outbound) or is the caller `from` (inbound).
        assert.equal(call.legs.length, 1);
        const leg = call.legs[0]!;
        assert.equal(leg.name, 'main');
        assert.equal(leg.number, k.direction === 'inbound' ? from : to);
        assert.equal(leg.status, 'ended');
        assert.equal(leg.outcome, LEG_OUTCOME[outcome]);
        assert.equal(call.answered_at === null, outcome !== 'answer');
        assert.ok(call.ended_at);

        if (outcome === 'failed') {
          const err = call.events.find((e) => e.type === 'call.error')!;
          assert.equal(typeof err.message, 'string');
          assert.ok(err.seq < call.events.at(-1)!.seq);
          assert.equal(typeof call.error_message, 'string');
        }
        const times = call.events.map((e) => Date.parse(e.occurred_at));
        assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!), 'occurred_at goes backwards');
      });
    }
  });
}

test('an inbound call keeps its channel', async () => {
  // `tracking` names a seed-003 property; the call-tracking tests cover it with a real property.
  const created = await place('/v1/inbound-calls', { from: '+15553000003', to: '+15553000004', channel_id: 'ch-1', simulate: { ring_ms: 10, talk_ms: 10 } });
  const call = await waitEnded(s.url, created.id);
  assertEndedTimeline(call);
  assert.equal(call.channel_id, 'ch-1');
  assert.equal(call.source, 'inbound');
});

test('scenario transcript lines and recording appear in call.transcript and as events', async () => {
  const lines = [{ type: 'agent', message: 'Hello, how can I help?' }, { type: 'customer', message: 'My order is late.' }];
  const created = await place('/v1/calls', {
    from: '+15554000001', to: '+15554000002',
    simulate: { ring_ms: 10, talk_ms: 60, transcript: lines, recording_url: 'https://rec.example.com/r1.mp3' },
  });
  const call = await waitEnded(s.url, created.id);
  assertEndedTimeline(call);
  assert.equal(call.outcome, 'completed');
  assert.deepEqual(timeline(call), [
    'call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.transcript', 'call.transcript', 'call.ended',
  ]);
  assert.deepEqual(call.transcript.map(({ type, message }) => ({ type, message })), lines);
  assert.ok(call.transcript.every((t) => typeof t.at === 'string'));
  const events = call.events.filter((e) => e.type === 'call.transcript');
  assert.deepEqual(events.map((e) => ({ type: e.speaker, message: e.message })), lines);
  assert.equal(call.recording_url, 'https://rec.example.com/r1.mp3');
});

describe('hangup', () => {
  test('before answer: outcome cancelled, the scenario plays no further', async () => {
    const created = await place('/v1/calls', { from: '+15555000001', to: '+15555000002', simulate: { ring_ms: 400, talk_ms: 10 } });
    await waitEvent(s.url, created.id, (e) => e.type === 'leg.ringing', { what: 'leg.ringing' });
    const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'ended');
    assert.equal(r.body.outcome, 'cancelled');
    const call = await getCall(s.url, created.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'cancelled');
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'call.ended']);
    assert.equal(call.legs[0]!.outcome, 'cancelled');
    assert.equal(call.answered_at, null);
    assert.equal(call.duration, 0);

    // A later call whose ring outlasts the hung-up call's: once it has ended, the engine is past
    // the time the hung-up call would have answered, and that call must not have moved.
    const barrier = await place('/v1/calls', { from: '+15555000001', to: '+15555000009', simulate: { ring_ms: 500, talk_ms: 10 } });
    await waitEnded(s.url, barrier.id);
    assert.deepEqual(await getCall(s.url, created.id), call);
  });

  test('right after creation, before any leg: outcome cancelled', async () => {
    const created = await place('/v1/calls', { from: '+15555000003', to: '+15555000004', simulate: { ring_ms: 60_000 } });
    const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const call = await getCall(s.url, created.id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'cancelled');
    assert.equal(call.events[0]!.type, 'call.accepted');
  });

  test('after answer: outcome completed; a second hangup is 409 call_already_ended', async () => {
    const created = await place('/v1/calls', { from: '+15555000005', to: '+15555000006', simulate: { ring_ms: 10, talk_ms: 60_000 } });
    await waitEvent(s.url, created.id, (e) => e.type === 'leg.answered', { what: 'leg.answered' });
    const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outcome, 'completed');
    const call = await getCall(s.url, created.id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.ended']);
    assert.equal(call.legs[0]!.outcome, 'completed');
    assert.ok(call.answered_at);

    const again = await s.api('POST', `/v1/calls/${created.id}/hangup`);
    assertProblem(again, 409, 'call_already_ended');
    assert.deepEqual(await getCall(s.url, created.id), call, 'a refused hangup changed the call');
  });

  test('of a call that ended by itself: 409 call_already_ended', async () => {
    const created = await place('/v1/inbound-calls', { from: '+15555000007', to: '+15555000008', simulate: { ring_ms: 10, outcome: 'busy' } });
    const call = await waitEnded(s.url, created.id);
    assertProblem(await s.api('POST', `/v1/calls/${created.id}/hangup`), 409, 'call_already_ended');
    assert.deepEqual(await getCall(s.url, created.id), call);
  });

  test('of an unknown call: 404 not_found', async () => {
    assertProblem(await s.api('POST', '/v1/calls/call_nosuchcall/hangup'), 404, 'not_found');
  });

  test('racing the engine still gives exactly one call.ended', async () => {
    // Ring times around "now": some hangups land before the engine's step, some after.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await place('/v1/calls', { from: '+15555100000', to: `+1555510000${i}`, simulate: { ring_ms: i * 3, talk_ms: 5 } });
      ids.push(c.id);
    }
    const answers = await Promise.all(ids.map((id) => s.api('POST', `/v1/calls/${id}/hangup`)));
    for (const a of answers) assert.ok(a.status === 200 || (a.status === 409 && a.body.code === 'call_already_ended'), JSON.stringify(a.body));
    for (const id of ids) assertEndedTimeline(await waitEnded(s.url, id));
  });
});

describe('transcript API', () => {
  test('a line answers 201 and becomes a call.transcript event; after the end it is 409', async () => {
    const created = await place('/v1/calls', { from: '+15556000001', to: '+15556000002', simulate: { ring_ms: 10, talk_ms: 60_000 } });
    await waitEvent(s.url, created.id, (e) => e.type === 'leg.answered', { what: 'leg.answered' });

    const r = await s.api('POST', `/v1/calls/${created.id}/transcript`, { type: 'agent', message: 'Thanks for calling.' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ev = r.body.events.at(-1);
    assert.equal(ev.type, 'call.transcript');
    assert.equal(ev.speaker, 'agent');
    assert.equal(ev.message, 'Thanks for calling.');
    assert.deepEqual(r.body.transcript.map(({ type, message }: { type: string; message: string }) => ({ type, message })), [
      { type: 'agent', message: 'Thanks for calling.' },
    ]);

    const r2 = await s.api('POST', `/v1/calls/${created.id}/transcript`, { type: 'customer', message: 'You are welcome.' });
    assert.equal(r2.status, 201);
    assert.equal(r2.body.transcript.length, 2);

    assert.equal((await s.api('POST', `/v1/calls/${created.id}/hangup`)).status, 200);
    const ended = await getCall(s.url, created.id);
    assertEndedTimeline(ended);
    assert.deepEqual(timeline(ended), [
      'call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.transcript', 'call.transcript', 'call.ended',
    ]);

    const late = await s.api('POST', `/v1/calls/${created.id}/transcript`, { type: 'agent', message: 'too late' });
    assertProblem(late, 409, 'call_already_ended');
    assert.deepEqual(await getCall(s.url, created.id), ended, 'a refused line changed the call');
  });

  test('on an unknown call: 404 not_found', async () => {
    assertProblem(await s.api('POST', '/v1/calls/call_nosuchcall/transcript', { type: 'agent', message: 'x' }), 404, 'not_found');
  });
});
