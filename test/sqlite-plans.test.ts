/**
 * The SQLite store's statements that run again and again (every engine round, every /metrics
 * scrape) must not read every row of a table that grows with the traffic: each is judged by
 * SQLite's own query plan on a migrated database (a plan step on the table without an index
 * fails).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { CALLS_BY_EXTERNAL_ID } from '../src/store/sqlite/calls.ts';
import { DEAD_DELIVERIES, LIST_BY_CALL } from '../src/store/sqlite/deliveries.ts';
import { COUNT_DEAD, OLDEST_SETTLED } from '../src/store/sqlite/housekeeping.ts';
import { EARLIEST_DUE } from '../src/store/sqlite/timers.ts';
import { OPEN_OF_CALL, OPEN_OF_TARGET } from '../src/store/sqlite/queue.ts';
import { tempDir } from './helpers.ts';

function plan(db: DatabaseSync, sql: string): string[] {
  return db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => String((r as { detail: string }).detail));
}

/** The plan of each statement on a freshly migrated database. */
async function plans(sqls: string[]): Promise<string[][]> {
  const tmp = tempDir('hookline-plans-');
  try {
    const store = new SqliteStore(tmp.dir);
    await store.migrate();
    await store.close();
    const db = new DatabaseSync(path.join(tmp.dir, 'hookline.db'));
    try {
      return sqls.map((sql) => plan(db, sql));
    } finally {
      db.close();
    }
  } finally {
    tmp.remove();
  }
}

test('the engine\'s next timer is found through indexes, not a scan of every live call\'s timer', async () => {
  const [steps] = await plans([EARLIEST_DUE]);
  assert.deepEqual(steps, ['SEARCH call_timers USING INDEX call_timers_by_due (due_at<?)']);
});

test('the dead deliveries of /metrics are counted in their index, not by reading every delivery; failed tests through the index by call', async () => {
  const [steps] = await plans([COUNT_DEAD]);
  assert.deepEqual(steps, [
    'SCAN CONSTANT ROW',
    'SCALAR SUBQUERY 1', 'SEARCH deliveries USING COVERING INDEX deliveries_settled (status=?)',
    'SCALAR SUBQUERY 2', 'SEARCH deliveries USING INDEX deliveries_by_call (call_id=?)',
  ]);
});

test('a recovery finds the dead deliveries in their index, not by reading every delivery', async () => {
  const [steps] = await plans([DEAD_DELIVERIES]);
  assert.equal(steps![0], 'SEARCH deliveries USING INDEX deliveries_settled (status=?)', steps!.join('\n'));
});

test('retention finds the oldest settled deliveries in their index, not by reading every delivery', async () => {
  for (const steps of await plans([OLDEST_SETTLED.succeeded, OLDEST_SETTLED.dead])) {
    assert.deepEqual(steps, ['SEARCH deliveries USING INDEX deliveries_settled (status=? AND updated_at<?)']);
  }
});

test('a call\'s deliveries are read through deliveries_by_call, not by walking the account\'s history', async () => {
  const [steps] = await plans([LIST_BY_CALL]);
  assert.ok(steps!.includes('SEARCH d USING INDEX deliveries_by_call (call_id=?)'), steps!.join('\n'));
});

test('a call listed by the switch\'s id is read through calls_by_external_id', async () => {
  const [steps] = await plans([CALLS_BY_EXTERNAL_ID]);
  assert.deepEqual(steps, ['SEARCH calls USING INDEX calls_by_external_id (account_id=? AND external_id=?)']);
});

test('a spilled target is read back from the open set and each call through deliveries_by_call, never by reading every delivery', async () => {
  const [target, call] = await plans([OPEN_OF_TARGET, OPEN_OF_CALL]);
  assert.deepEqual(target, ['SCAN o', 'SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)']);
  assert.ok(call!.includes('SEARCH d USING INDEX deliveries_by_call (call_id=?)'), call!.join('\n'));
  assert.ok(!call!.some((s) => s.startsWith('SCAN d')), call!.join('\n'));
});
