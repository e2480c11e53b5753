/**
 * Issue 9: /metrics shows the storage an operator watches — database and WAL size, the queue's
 * depth by status and the age of the oldest due delivery — read at scrape time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHookline, startReceiver, tempDir, waitFor, type TestServer } from './helpers.ts';
import { createEndpoint, failedTestIsNotDeadWork, placeCall } from './delivery-helpers.ts';

const gauge = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

test('/metrics: database and WAL bytes, deliveries by status, oldest due delivery age', async () => {
  const data = tempDir('hookline-metrics-');
  const rx = await startReceiver();
  let app: TestServer | undefined;
  try {
    // The receiver refuses everything and the next retry is a minute away: the call's first event
    // waits 'pending' for its retry, the later ones 'queued' behind it.
    rx.respond((_r, res) => void res.writeHead(503).end());
    app = await startHookline({ dataDir: data.dir, retryScheduleMs: [60_000] });
    await createEndpoint(app.url, { url: `${rx.url}/m` });
    await placeCall(app.url, { ring_ms: 5, talk_ms: 5 });
    const text = await waitFor(async () => {
      const t = await (await fetch(`${app!.url}/metrics`)).text();
      return (gauge(t, 'hookline_deliveries{status="queued"}') ?? 0) >= 1 && gauge(t, 'hookline_deliveries{status="pending"}') === 1 ? t : null;
    }, 10_000, 'one pending delivery and the others queued behind it');
    assert.ok(gauge(text, 'hookline_database_bytes')! > 0);
    assert.ok(gauge(text, 'hookline_wal_bytes')! >= 0);
    assert.equal(gauge(text, 'hookline_deliveries{status="dead"}'), 0);
    assert.equal(gauge(text, 'hookline_oldest_due_delivery_seconds'), 0, 'the pending one is not due for a minute');
    assert.equal(gauge(text, 'hookline_delivery_attempts_total{format="standard",result="retry"}'), 1, 'attempts are counted per format');
    // Split mode (the default): each thread's own V8 heap and CPU, the delivery thread's beside the main one's.
    for (const thread of ['main', 'delivery']) {
      const used = gauge(text, `hookline_thread_heap_bytes{thread="${thread}",kind="used"}`);
      const total = gauge(text, `hookline_thread_heap_bytes{thread="${thread}",kind="total"}`);
      assert.ok(used !== undefined && used > 1_000_000 && total !== undefined && total >= used, `${thread} thread heap: ${used} of ${total}`);
      const cpu = gauge(text, `hookline_thread_cpu_seconds_total{thread="${thread}"}`);
      assert.ok(cpu !== undefined && cpu > 0, `${thread} thread CPU: ${cpu}`);
    }
  } finally {
    await app?.stop();
    await rx.close();
    data.remove();
  }
});

test('a failed test delivery is logged dead but not counted in hookline_deliveries{status="dead"}, and is not retried', async () => {
  const app = await startHookline();
  try {
    await failedTestIsNotDeadWork(app);
  } finally {
    await app.stop();
  }
});
