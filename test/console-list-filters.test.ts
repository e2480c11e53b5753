/**
 * Issue 12, the filters the console's lists use: calls by creation time (created_after,
 * created_before, with paging) and deliveries by event (the format's name or Hookline's type).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpoint, deliveries, placeCall, waitEnded } from './delivery-helpers.ts';
import { startHookline, startReceiver, waitFor } from './helpers.ts';

test('calls by creation time: created_after and created_before bound the list, paging stays exact', async (t) => {
  const s = await startHookline();
  t.after(() => s.stop());
  const early = [await placeCall(s), await placeCall(s)];
  const boundary = new Date(Date.now() + 5).toISOString();
  await waitFor(() => Date.now() > Date.parse(boundary) + 2, 1000, 'the boundary to pass');
  const late = [await placeCall(s), await placeCall(s), await placeCall(s)];

  const ids = async (q: string): Promise<string[]> => {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: any } = await s.api('GET', `/v1/calls?limit=2&${q}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      out.push(...r.body.data.map((c: { id: string }) => c.id));
      cursor = r.body.next_cursor;
    } while (cursor !== null);
    return out;
  };
  assert.deepEqual(await ids(`created_after=${encodeURIComponent(boundary)}`), [...late].reverse());
  assert.deepEqual(await ids(`created_before=${encodeURIComponent(boundary)}`), [...early].reverse());
  assert.deepEqual(await ids(''), [...early, ...late].reverse());
  assert.equal((await s.api('GET', '/v1/calls?created_after=yesterday')).status, 400);
});

test('deliveries by event: the format\'s event name or the event type, paged', async (t) => {
  const rx = await startReceiver();
  const s = await startHookline();
  t.after(async () => {
    await s.stop();
    await rx.close();
  });
  await createEndpoint(s, { url: rx.url });
  const calls = [await placeCall(s), await placeCall(s), await placeCall(s)];
  for (const id of calls) await waitEnded(s, id);
  await waitFor(async () => (await deliveries(s, { status: 'succeeded' })).length === (await deliveries(s, {})).length, 10_000, 'deliveries to settle');
  const all = await deliveries(s, {});
  const ended = all.filter((d) => d.event_type === 'call.ended');
  assert.equal(ended.length, 3);
  const byType = await deliveries(s, { event: 'call.ended' });
  assert.deepEqual(byType.map((d) => d.id), ended.map((d) => d.id));
  assert.deepEqual((await deliveries(s, { event: ended[0].event })).map((d) => d.id), all.filter((d) => d.event === ended[0].event).map((d) => d.id));
  // one at a time: each page has one and points at the next
  const first = await s.api('GET', '/v1/deliveries?event=call.ended&limit=1');
  assert.equal(first.body.data.length, 1);
  assert.ok(first.body.next_cursor);
  assert.deepEqual(await deliveries(s, { event: 'no.such.event' }), []);
});
