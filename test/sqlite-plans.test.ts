/**
 * The SQLite store's statements that run on every engine round must not read every row of a
 * table that grows with the live calls: each is judged by SQLite's own query plan on a migrated
 * database (a plan that scans `call_timers` without an index fails).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { NEXT_TIMER_DUE } from '../src/store/sqlite/timers.ts';
import { tempDir } from './helpers.ts';

function plan(db: DatabaseSync, sql: string): string[] {
  return db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => String((r as { detail: string }).detail));
}

test('the engine\'s next timer is found through indexes, not a scan of every live call\'s timer', async () => {
  const tmp = tempDir('hookline-plans-');
  try {
    const store = new SqliteStore(tmp.dir);
    await store.migrate();
    await store.close();
    const db = new DatabaseSync(path.join(tmp.dir, 'hookline.db'));
    try {
      const steps = plan(db, NEXT_TIMER_DUE);
      const timers = steps.filter((d) => /\bcall_timers\b/.test(d));
      assert.ok(timers.length >= 2, steps.join('\n'));
      for (const d of timers) assert.match(d, /USING (COVERING )?INDEX call_timers_(by_due|leased)/, `a step without an index: ${d}\n${steps.join('\n')}`);
    } finally {
      db.close();
    }
  } finally {
    tmp.remove();
  }
});
