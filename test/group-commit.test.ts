/**
 * Issue 10: group commit never answers before the writes are durable. Hundreds of calls and
 * batched switch events are sent at once, so the store groups them into shared transactions;
 * the process is killed (SIGKILL) the moment the first answers arrive, with the rest still in
 * flight. After a restart on the same data directory, every call and event that was answered
 * 2xx is there.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { API_KEY, request, tempDir } from './helpers.ts';

test('kill -9 right after the first group-committed answers: every answered call and event is there after a restart', async () => {
  const data = tempDir('hookline-group-commit-');
  let first: Child | undefined;
  let second: Child | undefined;
  try {
    first = await spawnHookline(['--data-dir', data.dir, '--api-key', API_KEY]);
    const url = first.url;
    const answeredCalls: string[] = [];
    const answeredEvents: { event_id: string; call_id: string }[] = [];
    let killed: Promise<void> | undefined;
    const killSoon = (): void => {
      // At the first answer: the others are queued, mid-commit or unanswered.
      if (!killed && answeredCalls.length + answeredEvents.length >= 1) killed = stopChild(first);
    };
    const u = randomUUID();
    const batches = Array.from({ length: 20 }, (_, b) => request(url, 'POST', '/v1/call-events', {
      events: Array.from({ length: 50 }, (_, i) => ({ event_id: `${u}-${b}-${i}`, call_id: `sw-${u}-${b}-${i}`, type: 'leg.initiated', from: '+1555', to: '+1556', direction: 'outbound' })),
    }).then((r) => {
      if (r.status === 200) {
        for (const x of r.body.data as { event_id: string; status: number; call_id: string }[]) if (x.status === 201) answeredEvents.push(x);
      }
      killSoon();
    }, () => undefined));
    const calls = Array.from({ length: 300 }, () => request(url, 'POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: { ring_ms: 50, talk_ms: 50 } })
      .then((r) => {
        if (r.status === 201) answeredCalls.push(r.body.id as string);
        killSoon();
      }, () => undefined));
    await Promise.all([...calls, ...batches]);
    killed ??= stopChild(first);
    await killed;
    const answered = answeredCalls.length + answeredEvents.length;
    assert.ok(answered >= 1, `${answered} answers before the kill`);
    assert.ok(answeredCalls.length < 300 || answeredEvents.length < 1000, 'the kill came while requests were still in flight');

    second = await spawnHookline(['--data-dir', data.dir, '--api-key', API_KEY]);
    for (const id of answeredCalls) {
      const r: { status: number } = await request(second.url, 'GET', `/v1/calls/${id}`);
      assert.equal(r.status, 200, `answered call ${id} is lost`);
    }
    for (const e of answeredEvents) {
      const r: { status: number } = await request(second.url, 'GET', `/v1/calls/${e.call_id}`);
      assert.equal(r.status, 200, `answered event ${e.event_id} (call ${e.call_id}) is lost`);
    }
    process.stderr.write(`# group commit: ${answeredCalls.length} calls and ${answeredEvents.length} events answered before the kill, all found after the restart\n`);
  } finally {
    await stopChild(first);
    await stopChild(second);
    data.remove();
  }
});
