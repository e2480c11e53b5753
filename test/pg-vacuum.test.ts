/**
 * Where the server's autovacuum is off (as on this project's CI server), a process that delivers
 * vacuums the queue's tables itself once they hold enough dead row versions
 * (store/postgres/vacuum.ts): the claims walk partial indexes that fill with them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Vacuum } from '../src/store/postgres/vacuum.ts';
import { claimPlan, PG_SKIP, PG_URL, pgPoolOnSchema, waitFor } from './helpers.ts';

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

test('a queue vacuumed while nearly empty is analyzed once it has outgrown its statistics, so its plans probe by key again', { skip: PG_SKIP }, async (t) => {
  const { schema, pool } = await pgPoolOnSchema(t, 'hl_vacuum', 2);
  const errors: unknown[] = [];
  const vacuum = new Vacuum(pool, { connectionString: PG_URL!, schema, onError: (e) => errors.push(e) });
  t.after(() => vacuum.stop());
  const row = (n: string, status: string): string => `('dlv_${n}', 'ep_1', 'call_${n}', 1, '${status}', 0)`;
  const insert = (from: number, to: number, status: string): Promise<unknown> => pool.query(
    `INSERT INTO delivery_queue (id, order_key, call_id, event_seq, status, next_attempt_at) VALUES ${Array.from({ length: to - from }, (_, i) => row(String(from + i).padStart(6, '0'), status)).join(', ')}`);
  const planned = async (): Promise<{ reltuples: number; live: number }> => {
    const r = (await pool.query(`SELECT c.reltuples, s.n_live_tup FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'delivery_queue'::regclass`)).rows[0] as { reltuples: number; n_live_tup: string };
    return { reltuples: Number(r.reltuples), live: Number(r.n_live_tup) };
  };
  // The bench's drain: the queue full, then emptied but for its last row, then vacuumed (the
  // pages stay: the live row is at the end).
  await insert(0, 3_000, 'pending');
  await pool.query("DELETE FROM delivery_queue WHERE id <> 'dlv_002999'");
  await pool.query('VACUUM delivery_queue');
  assert.ok((await planned()).reltuples <= 1, 'the planner believes the queue holds at most one row');
  // Its next burst: 20,000 rows the planner does not know of.
  for (let i = 0; i < 20; i++) await insert(3_000 + i * 1_000, 4_000 + i * 1_000, i % 2 === 0 ? 'pending' : 'queued');
  await waitFor(async () => (await planned()).live >= 20_000, 10_000, 'the statistics to count the burst');
  assert.ok((await planned()).reltuples <= 1);
  assert.deepEqual(await vacuum.runOnce(), ['ANALYZE delivery_queue']);
  assert.ok((await planned()).reltuples >= 15_000, `reltuples ${(await planned()).reltuples} after the ANALYZE`);
  // a second look finds nothing to do
  assert.deepEqual(await vacuum.runOnce(), []);
  assert.deepEqual(errors, []);
  // A claim planned now (generically, as the pool plans) reaches the rows it updates by key.
  const plan = await claimPlan(pool, 'ep_1', 64);
  for (const cte of ['CTE claimed', 'CTE chained']) {
    const part = plan.slice(plan.indexOf(cte));
    assert.match(part, /Index Scan using delivery_queue_pkey on delivery_queue d_\d\s+\(.*\)\s+Index Cond: \(id = /, plan);
  }
});

test('a VACUUM leaves a queue table its empty pages: no truncation, so no ACCESS EXCLUSIVE lock stops the claims', { skip: PG_SKIP }, async (t) => {
  const { schema, pool } = await pgPoolOnSchema(t, 'hl_vacuum_trunc', 2);
  const errors: unknown[] = [];
  const vacuum = new Vacuum(pool, { connectionString: PG_URL!, schema, deadRows: 1000, onError: (e) => errors.push(e) });
  t.after(() => vacuum.stop());
  // autovacuum (where it runs) reads the tables' own setting (migration 0009)
  for (const table of ['delivery_queue', 'call_timers']) {
    const opts = (await pool.query('SELECT reloptions FROM pg_class WHERE oid = $1::regclass', [table])).rows[0].reloptions as string[] | null;
    assert.ok(opts?.includes('vacuum_truncate=false'), `${table}: ${opts}`);
  }
  if ((await pool.query("SELECT current_setting('autovacuum') = 'on' AS on")).rows[0].on) return t.skip('this server runs autovacuum: Hookline does not vacuum');
  // a burst, then an empty queue: every page of the file is empty
  await pool.query(`INSERT INTO delivery_queue (id, order_key, call_id, event_seq, status, next_attempt_at)
    SELECT 'dlv_' || g, 'key', 'call_' || g, 1, 'pending', g FROM generate_series(1, 5000) g`);
  await pool.query('DELETE FROM delivery_queue');
  const size = async (): Promise<number> => Number((await pool.query("SELECT pg_relation_size('delivery_queue') AS n")).rows[0].n);
  const before = await size();
  assert.ok(before > 8192 * 10, `${before} bytes`);
  await waitFor(async () => Number((await pool.query("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'delivery_queue'::regclass")).rows[0].n_dead_tup) >= 5000, 10_000, 'the statistics to count the dead rows');
  assert.ok((await vacuum.runOnce()).includes('delivery_queue'));
  assert.equal(await size(), before);
  assert.deepEqual(errors, []);
});
