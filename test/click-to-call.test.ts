/**
 * Issue 2: click-to-call. Leg `from` (channel 1) is dialled first; leg `to` (channel 2) only once
 * `from` answers. Every path ends in exactly one call.ended.
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

const FROM = '+15557000001';
const TO = '+15557000002';
const LEG_OUTCOME = { busy: 'busy', 'no-answer': 'no-answer', failed: 'failed' } as const;

async function c2c(simulate: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<CallView> {
  const r = await s.api('POST', '/v1/click-to-call', { from: FROM, to: TO, simulate, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'click_to_call');
  assert.equal(r.body.direction, 'outbound');
  assert.equal(r.body.status, 'accepted');
  return r.body;
}

function leg(call: CallView, name: string) {
  const l = call.legs.find((x) => x.name === name);
  assert.ok(l, `no leg ${name} on ${call.id}`);
  return l;
}

test('both legs answer: from initiated/ringing/answered, then to initiated/ringing/answered, then call.ended', async () => {
  const lines = [{ type: 'agent', message: 'Hi, this is support calling back.' }];
  const created = await c2c({ from: { ring_ms: 20 }, to: { ring_ms: 20, talk_ms: 40, transcript: lines } }, { bridge: '+15557000099' });
  const call = await waitEnded(s.url, created.id);
  assertEndedTimeline(call);
  assert.equal(call.outcome, 'completed');
  assert.equal(call.bridge, '+15557000099');
  assert.equal(call.source, 'C2C');
  assert.deepEqual(timeline(call), [
    'call.accepted',
    'leg.initiated/from', 'leg.ringing/from', 'leg.answered/from',
    'leg.initiated/to', 'leg.ringing/to', 'leg.answered/to',
    'call.transcript',
    'call.ended',
  ]);
  assert.deepEqual(call.legs.map((l) => l.name), ['from', 'to']);
  assert.equal(leg(call, 'from').number, FROM);
  assert.equal(leg(call, 'to').number, TO);
  for (const l of call.legs) {
    assert.equal(l.status, 'ended');
    assert.equal(l.outcome, 'completed');
  }
  // `to` is dialled no earlier than `from` answers.
  const at = (t: string, l: string) => Date.parse(call.events.find((e) => e.type === t && e.leg === l)!.occurred_at);
  assert.ok(at('leg.initiated', 'to') >= at('leg.answered', 'from'));
  assert.deepEqual(call.transcript.map(({ type, message }) => ({ type, message })), lines);
});

describe('leg from does not answer: leg to is never dialled', () => {
  for (const outcome of ['busy', 'no-answer', 'failed'] as const) {
    test(`from ${outcome}`, async () => {
      const created = await c2c({ from: { ring_ms: 20, outcome }, to: { ring_ms: 10, talk_ms: 10 } });
      const call = await waitEnded(s.url, created.id);
      assertEndedTimeline(call);
      assert.equal(call.outcome, LEG_OUTCOME[outcome]);
      const expected = ['call.accepted', 'leg.initiated/from', 'leg.ringing/from'];
      if (outcome === 'failed') expected.push('call.error');
      expected.push('call.ended');
      assert.deepEqual(timeline(call), expected);
      assert.deepEqual(call.legs.map((l) => l.name), ['from'], 'a leg to exists');
      assert.ok(!call.events.some((e) => e.leg === 'to'), 'an event names leg to');
      assert.equal(leg(call, 'from').outcome, LEG_OUTCOME[outcome]);
      assert.equal(call.answered_at, null);
      assert.equal(call.duration, 0);
    });
  }
});

describe('leg from answers, leg to does not', () => {
  for (const outcome of ['busy', 'no-answer', 'failed'] as const) {
    test(`to ${outcome}`, async () => {
      const created = await c2c({ from: { ring_ms: 10 }, to: { ring_ms: 20, outcome, talk_ms: 10 } });
      const call = await waitEnded(s.url, created.id);
      assertEndedTimeline(call);
      assert.equal(call.outcome, LEG_OUTCOME[outcome]);
      const expected = [
        'call.accepted',
        'leg.initiated/from', 'leg.ringing/from', 'leg.answered/from',
        'leg.initiated/to', 'leg.ringing/to',
      ];
      if (outcome === 'failed') expected.push('call.error');
      expected.push('call.ended');
      assert.deepEqual(timeline(call), expected);
      assert.deepEqual(call.legs.map((l) => l.name), ['from', 'to']);
      assert.equal(leg(call, 'to').outcome, LEG_OUTCOME[outcome]);
      // Leg from was answered and is ended with the call.
      assert.equal(leg(call, 'from').status, 'ended');
      assert.equal(leg(call, 'from').outcome, 'completed');
    });
  }
});

test('defaults apply to a leg the simulate object leaves out', async () => {
  // Leg to has no scenario: it rings 2000 ms by default, so hang up once it rings.
  const created = await c2c({ from: { ring_ms: 10 } });
  await waitEvent(s.url, created.id, (e) => e.type === 'leg.ringing' && e.leg === 'to', { what: 'leg to ringing' });
  assert.equal((await s.api('POST', `/v1/calls/${created.id}/hangup`)).status, 200);
  const call = await getCall(s.url, created.id);
  assertEndedTimeline(call);
  assert.deepEqual(timeline(call), [
    'call.accepted', 'leg.initiated/from', 'leg.ringing/from', 'leg.answered/from', 'leg.initiated/to', 'leg.ringing/to', 'call.ended',
  ]);
  assert.equal(leg(call, 'to').outcome, 'cancelled');
});

test('hangup while leg from rings: cancelled, leg to never dialled', async () => {
  const created = await c2c({ from: { ring_ms: 60_000 }, to: { ring_ms: 10 } });
  await waitEvent(s.url, created.id, (e) => e.type === 'leg.ringing' && e.leg === 'from', { what: 'leg from ringing' });
  const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.outcome, 'cancelled');
  const call = await getCall(s.url, created.id);
  assertEndedTimeline(call);
  assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/from', 'leg.ringing/from', 'call.ended']);
  assert.ok(!call.events.some((e) => e.leg === 'to'));
  assert.equal(leg(call, 'from').outcome, 'cancelled');
  assertProblem(await s.api('POST', `/v1/calls/${created.id}/hangup`), 409, 'call_already_ended');
});

test('hangup while leg to rings: cancelled, since the customer never answered; leg from completed', async () => {
  const created = await c2c({ from: { ring_ms: 10 }, to: { ring_ms: 60_000 } });
  await waitEvent(s.url, created.id, (e) => e.type === 'leg.ringing' && e.leg === 'to', { what: 'leg to ringing' });
  const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const call = await getCall(s.url, created.id);
  assertEndedTimeline(call);
  assert.equal(call.outcome, 'cancelled');
  assert.deepEqual(call.legs.map((l) => [l.name, l.outcome]), [['from', 'completed'], ['to', 'cancelled']]);
});

test('hangup while both legs talk: completed, both legs completed', async () => {
  const created = await c2c({ from: { ring_ms: 10 }, to: { ring_ms: 10, talk_ms: 60_000 } });
  await waitEvent(s.url, created.id, (e) => e.type === 'leg.answered' && e.leg === 'to', { what: 'leg to answered' });
  const r = await s.api('POST', `/v1/calls/${created.id}/hangup`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const call = await getCall(s.url, created.id);
  assertEndedTimeline(call);
  assert.equal(call.outcome, 'completed');
  assert.deepEqual(call.legs.map((l) => [l.name, l.outcome]), [['from', 'completed'], ['to', 'completed']]);
});
