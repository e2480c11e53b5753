/**
 * The PostgreSQL pool's connections end at different times (store/postgres/pool.ts): made
 * together in a burst, with one fixed lifetime they all ended within a few ms and were all made
 * again together, every 30 s (a p99 spike in the bench's fixed rate each time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { purgePick } from '../src/store/postgres/housekeeping.ts';
import { newPool } from '../src/store/postgres/pool.ts';
import { claimPlan, PG_SKIP, PG_URL, pgPoolOnSchema, waitFor } from './helpers.ts';

test('connections made in one burst end spread over [L, 2L), not together', { skip: PG_SKIP }, async () => {
  const pool = newPool({ connectionString: PG_URL!, max: 8, lifetimeSeconds: 1 });
  const ended: number[] = [];
  pool.on('remove', () => ended.push(performance.now()));
  try {
    const start = performance.now();
    // eight connections at once, all in use together, then all idle
    const clients: pg.PoolClient[] = await Promise.all(Array.from({ length: 8 }, () => pool.connect()));
    await Promise.all(clients.map((c) => c.query('SELECT 1')));
    for (const c of clients) c.release();
    assert.equal(pool.totalCount, 8);
    await waitFor(() => ended.length === 8, 5_000);
    const first = Math.min(...ended);
    const last = Math.max(...ended);
    // Uniform over [1 s, 2 s): eight ends within 100 ms of each other has a chance of ~1e-6.
    assert.ok(last - first > 100, `ends spread over ${Math.round(last - first)} ms`);
    assert.ok(first - start >= 950, `the first ended ${Math.round(first - start)} ms after the burst`);
    // (2 s after its connect at most; the connects themselves take a moment on a busy machine)
    assert.ok(last - start < 3_500, `the last ended ${Math.round(last - start)} ms after the burst`);
    assert.equal(pool.totalCount, 0);
  } finally {
    await pool.end();
  }
});

test('a plan made while deliveries is nearly empty still reads it by key, not by a sequential scan', { skip: PG_SKIP }, async (t) => {
  const { pool } = await pgPoolOnSchema(t, 'hl_pool');
  // The dispatcher's settle joins a batch's ids to deliveries; prepared on a young database its
  // generic plan was a hash join over a sequential scan, kept while the table grew.
  const c = await pool.connect();
  try {
    await c.query('SET plan_cache_mode = force_generic_plan');
    await c.query('PREPARE settle_like(text[]) AS UPDATE deliveries d SET attempts = d.attempts + 1 FROM unnest($1::text[]) AS r(id) WHERE d.id = r.id');
    const plan = (await c.query("EXPLAIN EXECUTE settle_like('{msg_a,msg_b}')")).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    assert.doesNotMatch(plan, /Seq Scan on deliveries/, plan);
    assert.match(plan, /Index Scan using deliveries_pkey/, plan);
  } finally {
    c.release();
  }
});

test('the pool plans generically and without JIT; the retention pick then still reads its partial index', { skip: PG_SKIP }, async (t) => {
  const { pool } = await pgPoolOnSchema(t, 'hl_pool');
  const setting = async (name: string): Promise<string> => String((await pool.query(`SELECT current_setting('${name}') AS v`)).rows[0].v);
  assert.equal(await setting('plan_cache_mode'), 'force_generic_plan');
  assert.equal(await setting('jit'), 'off');
  assert.equal(await setting('enable_seqscan'), 'off');
  const c = await pool.connect();
  try {
    for (const status of ['succeeded', 'dead'] as const) {
      await c.query(`PREPARE pick_${status}(bigint, int) AS ${purgePick(status)}`);
      const plan = (await c.query(`EXPLAIN EXECUTE pick_${status}(1, 500)`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /Index Scan using deliveries_settled/, plan);
      assert.doesNotMatch(plan, /Seq Scan|Sort/, plan);
    }
  } finally {
    c.release();
  }
});

test('a claim prepared on an empty database reads the rows it chains by key, not through a whole partial index', { skip: PG_SKIP }, async (t) => {
  const { pool } = await pgPoolOnSchema(t, 'hl_pool');
  const plan = await claimPlan(pool, 'k', 16);
  // every read of deliveries has an index condition: no bitmap or plain scan of a whole index
  assert.doesNotMatch(plan, /Bitmap Heap Scan on deliver|Seq Scan on deliver/, plan);
  const chained = plan.slice(plan.indexOf('CTE chained'));
  assert.match(chained, /Index Scan using delivery_queue_pkey on delivery_queue d_\d\s+\(.*\)\s+Index Cond: \(id = /, plan);
});
