/**
 * Issue 13: calls stored before drivers kept records of their own (a `driver` string on the call
 * and the simulator's plan in `sim`) go on as before: the simulator finishes its plan, a switch
 * ends its call, and the next write stores the new shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from '../src/calls/model.ts';
import { makeCall, makeEvent } from './store-harness.ts';
import { startHookline, waitFor } from './helpers.ts';

function legacy(call: Call, old: Record<string, unknown>): Call {
  const c = call as unknown as Record<string, unknown>;
  delete c.driver_state;
  return Object.assign(c, old) as unknown as Call;
}

test('a simulated call stored in the old shape is played to its end, and stored in the new one', async () => {
  const s = await startHookline();
  try {
    const acct = (await s.h.store.getBootstrapAccount())!;
    const now = Date.now();
    const call = legacy(makeCall(acct, {
      created_at: now, started_at: now, status: 'ringing', last_seq: 3,
      legs: [{ name: 'main', number: '+15550000002', status: 'ringing', initiated_at: now, ringing_at: now, answered_at: null, ended_at: null, outcome: null }],
    }), {
      driver: 'sim',
      sim: {
        phase: 'ring', phase_at: now, talk_started_at: null, next_line: 0,
        legs: { main: { ivr_ms: 0, ring_ms: 20, outcome: 'answer', talk_ms: 30, transcript: [], recording_url: null } },
      },
    });
    const events = [makeEvent(call, 1), makeEvent(call, 2, { type: 'leg.initiated', leg: 'main' }), makeEvent(call, 3, { type: 'leg.ringing', leg: 'main' })];
    assert.equal(await s.h.store.writeCall({ call, expected_version: null, events, timer_due_at: now + 20, deliveries: [] }), 'written');
    s.h.engine.nudge();
    const view = await waitFor(async () => {
      const r = await s.api('GET', `/v1/calls/${call.id}`);
      return r.body.status === 'ended' ? r.body : undefined;
    }, 10_000, 'the old call to end');
    assert.equal(view.outcome, 'completed');
    assert.equal(view.driver, 'sim');
    assert.deepEqual(view.events.map((e: { type: string }) => e.type), ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
    const stored = (await s.h.store.getCall(acct, call.id))! as unknown as Record<string, unknown>;
    assert.deepEqual(stored.driver_state, { driver: 'sim', state: { ...(stored.driver_state as { state: object }).state } });
    assert.equal('sim' in stored, false);
    assert.equal('driver' in stored, false);
  } finally {
    await s.stop();
  }
});

test('an ingested call stored in the old shape takes the switch\'s next events', async () => {
  const s = await startHookline();
  try {
    const acct = (await s.h.store.getBootstrapAccount())!;
    const call = legacy(makeCall(acct, { external_id: 'old-switch-1', last_seq: 1 }), { driver: 'external', sim: null });
    assert.equal(await s.h.store.writeCall({ call, expected_version: null, events: [makeEvent(call, 1)], timer_due_at: null, deliveries: [] }), 'written');
    const r = await s.api('POST', '/v1/call-events', { event_id: 'old-e2', call_id: 'old-switch-1', type: 'call.ended', outcome: 'busy' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.driver, 'external');
    assert.equal(r.body.outcome, 'busy');
    assert.equal(r.body.id, call.id);
  } finally {
    await s.stop();
  }
});
