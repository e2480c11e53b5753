/**
 * Issue 9: the short kill loop, in CI. Five SIGKILLs of the real CLI while calls keep coming
 * (kill-loop.ts): nothing the API acknowledged is lost, no call's events arrive out of order,
 * every call ends with exactly one call.ended, and no call is created twice by the client's
 * retries. Duplicates (the same webhook-id again) are allowed and only reported. On SQLite, and
 * on a fresh PostgreSQL database when HOOKLINE_TEST_DATABASE_URL is set. `npm run faults` is the
 * long loop.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freshDatabase, PG_SKIP } from './helpers.ts';
import { failures, runKillLoop, type KillLoopOptions, type KillLoopReport } from './kill-loop.ts';

// 5 kills, one every 1–3 s, at 20 calls/s: ~300 calls and ~1,500 events per backend in 15–30 s.
const SHORT: KillLoopOptions = { kills: 5, rate: 20, intervalMs: 2000, settleMs: 30_000 };

function check(t: TestContext, r: KillLoopReport): void {
  t.diagnostic(`kill loop (${r.backend}, seed ${r.seed}): ${r.kills} kills, ${r.calls.acknowledged} calls, ${r.expected} events, ` +
    `lost ${r.lost}, duplicates ${r.duplicates}, out of order ${r.out_of_order}, ${r.calls.retries} retried requests, ` +
    `${r.calls.replayed} replays, down ${r.down_ms.median}/${r.down_ms.max} ms, load ${r.load_s.toFixed(1)} s, settle ${r.settle_s.toFixed(1)} s`);
  assert.deepEqual(failures(r), [], `kill loop failed (seed ${r.seed}):\n${r.samples.join('\n')}`);
  assert.equal(r.lost, 0);
  assert.equal(r.out_of_order, 0);
  assert.equal(r.ended_not_once, 0);
  assert.equal(r.ended_received_not_once, 0);
  // The kills really came under load: some requests found the server down.
  assert.equal(r.kills, SHORT.kills);
  assert.ok(r.calls.acknowledged >= 100, `only ${r.calls.acknowledged} calls`);
  assert.ok(r.calls.retries > 0, 'no request ever met a dead server');
}

test('kill loop on SQLite: 5 SIGKILLs under load lose nothing, keep each call in order, end each call once', { timeout: 90_000 }, async (t) => {
  check(t, await runKillLoop(SHORT));
});

test('kill loop on PostgreSQL: the same on a fresh database', { skip: PG_SKIP, timeout: 90_000 }, async (t) => {
  const db = await freshDatabase('hl_kill_loop');
  try {
    // A short lease: the killed process's claims are taken over within the run.
    check(t, await runKillLoop({ ...SHORT, databaseUrl: db.url, leaseMs: 2000 }));
  } finally {
    await db.drop();
  }
});
