/**
 * An ingested call's idle timer ends it only if the switch has stayed silent for the idle time
 * as the call stands when the step is written. The engine claims a due idle timer and plays it
 * on the call it read; if an event from the switch is written meanwhile, that write is stale,
 * and the step is played again on the call re-read — which the switch has just spoken for
 * (found in a review: the replay ended it regardless).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { startHookline } from './helpers.ts';

const IDLE_MS = 60_000;
const PARTIES = { from: '+15558000001', to: '+15558000002', direction: 'outbound' };

test('an idle timer replayed after a switch event was written does not end the call', async () => {
  const clock = new FakeClock(Date.now());
  // --role api: no engine of its own; the test plays the engine's step by hand
  const s = await startHookline({ ingestIdleMs: IDLE_MS, role: 'api' }, { clock });
  try {
    const sw = `sw-${randomUUID()}`;
    const first = await s.api('POST', '/v1/call-events', { event_id: randomUUID(), call_id: sw, type: 'leg.ringing', ...PARTIES });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const id = first.body.id as string;
    // the idle time passes: the timer is due, and an engine reads the call to play it…
    clock.advance(IDLE_MS + 60_001);
    const read = await s.h.store.getCall(null, id);
    // …while the switch speaks again, and its event is written first
    const again = await s.api('POST', '/v1/call-events', { event_id: randomUUID(), call_id: sw, type: 'leg.answered', ...PARTIES });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await s.h.calls.advance(id, undefined, read);
    const call = await s.h.store.getCall(null, id);
    assert.equal(call!.status, 'answered', 'the call the switch just answered is not ended as idle');
    // the idle time passes again, from the last event: now it ends
    clock.advance(IDLE_MS + 60_001);
    await s.h.calls.advance(id);
    const ended = await s.h.store.getCall(null, id);
    assert.equal(ended!.status, 'ended');
    assert.equal(ended!.outcome, 'completed');
  } finally {
    await s.stop();
  }
});
