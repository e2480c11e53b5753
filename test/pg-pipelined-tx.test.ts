/**
 * sql.ts pipelinedTx (one-sync.ts): a non-durable transaction commits with synchronous_commit
 * off, a durable one with the server's setting; each step's rows come back in order, and the
 * connection goes back to the pool with the setting undone. The steps are one exchange with
 * one Sync (one ReadyForQuery from the server), all or nothing; a failed one leaves the pool
 * working, whether the exchange prepared statements or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { newPool } from '../src/store/postgres/pool.ts';
import { pipelinedTx } from '../src/store/postgres/sql.ts';
import { PG_SKIP, PG_URL } from './helpers.ts';

const SETTING = { name: 'test_sync_setting', text: "SELECT current_setting('synchronous_commit') AS v", values: [] };
const ONE = { name: 'test_one', text: 'SELECT $1::int AS n', values: [1] };

test('postgres: pipelinedTx sets synchronous_commit off for its non-durable transactions only', { skip: PG_SKIP }, async () => {
  const pool = newPool({ connectionString: PG_URL!, max: 1, lifetimeSeconds: 0 });
  try {
    const lazy = await pipelinedTx(pool, [ONE, SETTING], false);
    assert.deepEqual(lazy, [[{ n: 1 }], [{ v: 'off' }]]);
    const durable = await pipelinedTx(pool, [SETTING, ONE]);
    assert.deepEqual(durable, [[{ v: 'on' }], [{ n: 1 }]]);
    // the same (only) connection, outside any transaction: SET LOCAL ended with its transaction
    assert.equal((await pool.query("SELECT current_setting('synchronous_commit') AS v")).rows[0].v, 'on');
  } finally {
    await pool.end();
  }
});

/** ReadyForQuery messages the pool's only connection receives while `run` runs. */
async function syncsOf(pool: pg.Pool, run: () => Promise<unknown>): Promise<number> {
  const c = await pool.connect();
  const conn = (c as unknown as { connection: NodeJS.EventEmitter }).connection;
  c.release();
  let n = 0;
  const count = (): void => void n++;
  conn.on('readyForQuery', count);
  try {
    await run();
  } finally {
    conn.off('readyForQuery', count);
  }
  return n;
}

test('postgres: pipelinedTx is one exchange (one Sync), atomic, and a failure leaves the pool usable', { skip: PG_SKIP }, async () => {
  const pool = newPool({ connectionString: PG_URL!, max: 1, lifetimeSeconds: 0 });
  const table = `pipelined_${process.pid}`;
  try {
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const insert = (id: number) => ({ name: `test_insert_${table}`, text: `INSERT INTO ${table} (id) VALUES ($1) RETURNING id`, values: [id] });
    const count = { name: `test_count_${table}`, text: `SELECT count(*)::int AS n FROM ${table}`, values: [] };
    // the first time: statements prepared in the same exchange; a later step sees an earlier one's row
    assert.equal(await syncsOf(pool, async () => {
      assert.deepEqual(await pipelinedTx(pool, [insert(1), count], false), [[{ id: 1 }], [{ n: 1 }]]);
    }), 1);
    // prepared already: still one ReadyForQuery for three statements (and the SET of a non-durable one)
    assert.equal(await syncsOf(pool, () => pipelinedTx(pool, [insert(2), insert(3), count], false)), 1);
    // a duplicate key in the last step: the steps before it are rolled back too
    await assert.rejects(pipelinedTx(pool, [insert(4), insert(1)]), (e: { code?: string }) => e.code === '23505');
    assert.deepEqual((await pool.query(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => r.id), [1, 2, 3]);
    // the connection is idle again, not in a failed transaction
    assert.deepEqual(await pipelinedTx(pool, [insert(4), count]), [[{ id: 4 }], [{ n: 4 }]]);
    // a failure in an exchange that prepared statements: the pool replaces the connection
    const fresh = { name: `test_fresh_${table}`, text: `INSERT INTO ${table} (id) VALUES ($1)`, values: [1] };
    await assert.rejects(pipelinedTx(pool, [fresh]), (e: { code?: string }) => e.code === '23505');
    assert.deepEqual(await pipelinedTx(pool, [{ ...fresh, values: [5] }, count]), [[], [{ n: 5 }]]);
    // a value pg cannot send: refused before anything goes out
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(pipelinedTx(pool, [insert(6), { name: 'test_bad_value', text: 'SELECT $1::json AS j', values: [circular] }]));
    assert.deepEqual(await pipelinedTx(pool, [count]), [[{ n: 5 }]]);
    // a prepared statement's name used for another text: refused before anything goes out, as pg does
    await assert.rejects(pipelinedTx(pool, [insert(7), { ...count, text: 'SELECT 1 AS n' }]), /must be unique/);
    assert.deepEqual(await pipelinedTx(pool, [count]), [[{ n: 5 }]]);
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
  }
});
