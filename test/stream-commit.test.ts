/**
 * The live stream tells of a delivery result once it is committed, in one thread too (the
 * SQLite store's onResultsCommitted): a reader told of a result and reading the delivery at once
 * finds it there. Until session 21 one-thread mode told of it at the claim that handed it to the
 * store, before its group commit; the console's call page, reloading on that news, could keep a
 * stale status for good (seen once as a failed console test).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { createEndpoint, placeCall } from './delivery-helpers.ts';
import { request, startHookline, startReceiver, tempDir, waitFor } from './helpers.ts';
import { openStream } from './stream-helpers.ts';

test('one thread: a delivery result reaches the stream only once its row says so', async (t) => {
  const data = tempDir('hookline-stream-commit-');
  const rx = await startReceiver();
  const s = await startHookline({ dataDir: data.dir, threads: 1 });
  // Another connection that takes SQLite's write lock while the receiver answers: the result's
  // group commit then waits (it retries every ms) until the lock is given back.
  const side = new DatabaseSync(path.join(data.dir, 'hookline.db'));
  side.exec('PRAGMA busy_timeout = 5000');
  let locked = false;
  t.after(async () => {
    if (locked) side.exec('ROLLBACK');
    side.close();
    await s.stop();
    await rx.close();
    data.remove();
  });
  await createEndpoint(s.url, { url: `${rx.url}/ended`, events: ['call.ended'] });
  const reader = await openStream(s.url, '/v1/stream', { key: s.key });
  t.after(() => reader.close());
  rx.respond((_r, res) => {
    side.exec('BEGIN IMMEDIATE');
    locked = true;
    res.writeHead(200).end('ok');
  });
  const callId = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  const told = () => reader.events.filter((e) => e.event === 'delivery.result' && e.data.call_id === callId);
  await waitFor(() => rx.requests.length === 1 && locked, 10_000, 'the receiver answering under the lock');
  // What is asserted is an absence, so it takes a window: the old code told within a round of
  // the dispatcher (~1 ms) of the answer.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(told().length, 0, 'the stream told of a result not yet committed');
  const before = await request(s.url, 'GET', `/v1/deliveries?call_id=${callId}`, undefined, { key: s.key });
  assert.notEqual(before.body.data[0].status, 'succeeded');

  side.exec('COMMIT');
  locked = false;
  await reader.until(() => told().length === 1, 10_000, 'the result on the stream');
  const deliveryId = told()[0]!.data.delivery_id as string;
  const after = await request(s.url, 'GET', `/v1/deliveries/${deliveryId}`, undefined, { key: s.key });
  assert.equal(after.body.status, 'succeeded');
  assert.equal(told()[0]!.data.status, 'succeeded');
});
