/**
 * Where the server's autovacuum is off (as on this project's CI server), a process that delivers
 * vacuums the queue's tables itself once they hold enough dead row versions
 * (store/postgres/vacuum.ts): the claims walk partial indexes that fill with them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Vacuum } from '../src/store/postgres/vacuum.ts';
import { PG_SKIP, PG_URL, pgPoolOnSchema, waitFor } from './helpers.ts';

test('a queue table is vacuumed once its dead versions reach the bound, not before; never while autovacuum runs', { skip: PG_SKIP }, async (t) => {
  const { schema, pool } = await pgPoolOnSchema(t, 'hl_vacuum', 2);
  const errors: unknown[] = [];
  const vacuum = new Vacuum(pool, { connectionString: PG_URL!, schema, deadRows: 1000, onError: (e) => errors.push(e) });
  t.after(() => vacuum.stop());
  const stat = async (): Promise<{ dead: number; vacuumed: boolean }> => {
    const r = (await pool.query("SELECT n_dead_tup, last_vacuum FROM pg_stat_user_tables WHERE relid = 'call_timers'::regclass")).rows[0] as { n_dead_tup: string; last_vacuum: Date | null };
    return { dead: Number(r.n_dead_tup), vacuumed: r.last_vacuum !== null };
  };
  const autovacuum = (await pool.query("SELECT current_setting('autovacuum') = 'on' AS on")).rows[0].on as boolean;
  if (autovacuum) t.diagnostic('this server runs autovacuum: Hookline must leave the tables to it');

  await pool.query("INSERT INTO call_timers (call_id, due_at) SELECT 'call_' || g, g FROM generate_series(1, 400) g");
  // 800 dead versions: under the bound of 1,000
  for (let i = 0; i < 2; i++) await pool.query('UPDATE call_timers SET due_at = due_at + 1');
  await waitFor(async () => (await stat()).dead >= 800, 10_000, 'the statistics to count 800 dead versions');
  assert.deepEqual(await vacuum.runOnce(), []);
  assert.equal((await stat()).vacuumed, false);

  // 1,600: over it
  for (let i = 0; i < 2; i++) await pool.query('UPDATE call_timers SET due_at = due_at + 1');
  await waitFor(async () => (await stat()).dead >= 1600, 10_000, 'the statistics to count 1,600 dead versions');
  if (autovacuum) {
    assert.deepEqual(await vacuum.runOnce(), []);
  } else {
    assert.deepEqual(await vacuum.runOnce(), ['call_timers']);
    const after = await stat();
    assert.equal(after.vacuumed, true);
    assert.equal(after.dead, 0);
  }
  assert.deepEqual(errors, []);
});
