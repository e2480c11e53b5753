/**
 * The call engine's loop: a round claims the due timers and starts their steps without waiting
 * for them, so a slow step (a durable call write under load) does not hold back the timers that
 * fall due after it. The steps here are the test's own (the engine only asks the call service
 * to advance a call); the timers are in a real store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../src/clock.ts';
import { Engine } from '../src/calls/engine.ts';
import type { CallService } from '../src/calls/service.ts';
import { waitFor } from './helpers.ts';
import { epoch, makeCall, newAccount, sqliteDir } from './store-harness.ts';

test('a step under way does not hold back the next due timer; stop waits for the steps', async () => {
  const opened = sqliteDir();
  const store = opened.store;
  await store.migrate();
  const T = epoch();
  const clock = new FakeClock(T);
  const acct = await newAccount(store);
  const a = makeCall(acct);
  const b = makeCall(acct);
  for (const [call, due] of [[a, T + 100], [b, T + 200]] as const) {
    assert.equal(await store.writeCall({ call, expected_version: null, events: [], timer_due_at: due, deliveries: [] }), 'written');
  }
  const started: string[] = [];
  let finishA: () => void = () => undefined;
  const calls = {
    advance: (callId: string): Promise<void> => {
      started.push(callId);
      // a's step hangs until the test lets it end; b's ends at once
      return callId === a.id ? new Promise<void>((resolve) => (finishA = resolve)) : Promise.resolve();
    },
  } as unknown as CallService;
  const engine = new Engine({ store, clock, calls, log: pino({ level: 'silent' }), owner: 'engine-test', leaseMs: 60_000 });
  let stopped = false;
  try {
    clock.set(T + 150);
    engine.start();
    await waitFor(() => started.includes(a.id), 5_000, "a's step to start");
    clock.set(T + 250);
    engine.nudge();
    // before: the round that started a's step waited for it, and b's timer with it
    await waitFor(() => started.includes(b.id), 5_000, "b's step to start while a's is under way");
    assert.deepEqual(started, [a.id, b.id], 'each timer played once');
    let stopDone = false;
    const stopping = engine.stop().then(() => (stopDone = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopDone, false, 'stop waits for the step under way');
    finishA();
    await stopping;
    stopped = true;
  } finally {
    finishA();
    if (!stopped) await engine.stop();
    await opened.cleanup();
  }
});
