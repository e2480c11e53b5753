/**
 * The SIP driver's timer (ring timeout, max duration) ends a call only when it is due for the
 * call as it stands. The engine claims a due timer, then writes; a 200 OK written meanwhile
 * makes that write stale, and the engine plays the step again on the call as re-read — now
 * answered, its ring timeout gone. Ending it then as no-answer would end an answered call
 * (found in a review of session 23).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Call } from '../src/calls/model.ts';
import { SipDriver } from '../src/calls/drivers/sip/driver.ts';
import { makeCall } from './store-harness.ts';

const T0 = 1_700_000_000_000;
const RING_MS = 45_000;

function sipCall(o: Partial<Call>, maxDurationMs: number | null): Call {
  return makeCall('acct_test', {
    created_at: T0, status: 'ringing',
    driver_state: { driver: 'sip', state: { trunk: 'sip:127.0.0.1:5060', ua: '127.0.0.1:5062', ring_timeout_ms: RING_MS, max_duration_ms: maxDurationMs, legs: {} } },
    ...o,
  });
}

test('SIP: the ring timeout ends an unanswered call once due, and only then', () => {
  const sip = new SipDriver({ trunk: 'sip:127.0.0.1:5060', listen: { host: '127.0.0.1', port: 5062 }, user: undefined, password: undefined, fromDomain: undefined }, pino({ level: 'silent' }));
  assert.deepEqual(sip.due(sipCall({}, null), T0 + RING_MS - 1), [], 'not due yet');
  const ended = sip.due(sipCall({}, null), T0 + RING_MS);
  assert.deepEqual(ended.map((e) => [e.type, e.data.outcome]), [['call.ended', 'no-answer']]);
});

test('SIP: an answered call is not ended by the ring timeout it no longer has; max duration ends it when due', () => {
  const sip = new SipDriver({ trunk: 'sip:127.0.0.1:5060', listen: { host: '127.0.0.1', port: 5062 }, user: undefined, password: undefined, fromDomain: undefined }, pino({ level: 'silent' }));
  const answeredAt = T0 + RING_MS - 5;
  // answered just before its ring timeout, no max duration: nothing is due, ever
  assert.deepEqual(sip.due(sipCall({ status: 'answered', answered_at: answeredAt }, null), T0 + RING_MS + 10), []);
  // with a max duration of 60 s: due at the answer + 60 s, ended completed
  const call = (): Call => sipCall({ status: 'answered', answered_at: answeredAt }, 60_000);
  assert.deepEqual(sip.due(call(), T0 + RING_MS + 10), []);
  assert.deepEqual(sip.due(call(), answeredAt + 60_000).map((e) => [e.type, e.data.outcome]), [['call.ended', 'completed']]);
});
