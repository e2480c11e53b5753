/**
 * sql.ts pipelinedTx (one-sync.ts): a non-durable transaction commits with synchronous_commit
 * off, a durable one with the server's setting; each step's rows come back in order, and the
 * connection goes back to the pool with the setting undone. The steps are one exchange with
 * one Sync (one ReadyForQuery from the server), all or nothing; a failed one leaves the pool
 * working, whether the exchange prepared statements or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newPool } from '../src/store/postgres/pool.ts';
import { pipelinedTx } from '../src/store/postgres/sql.ts';
import { PG_SKIP, PG_URL, waitFor } from './helpers.ts';

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
    // …within one batch too: a name new to the connection, twice with two texts
    const twice = { name: `test_twice_${table}`, text: 'SELECT 1 AS n', values: [] };
    await assert.rejects(pipelinedTx(pool, [twice, { ...twice, text: 'SELECT 2 AS n' }]), /must be unique/);
    // and twice with its one text: parsed once (a second Parse would be refused, 42P05)
    assert.deepEqual(await pipelinedTx(pool, [twice, twice, count]), [[{ n: 1 }], [{ n: 1 }], [{ n: 5 }]]);
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
  }
});

test('postgres: a batch whose session the server ends (FATAL) fails alone; the process lives and the pool makes a new connection', { skip: PG_SKIP }, async () => {
  const pool = newPool({ connectionString: PG_URL!, max: 1, lifetimeSeconds: 0 });
  try {
    const pid = async () => (await pipelinedTx(pool, [{ name: 'test_pid', text: 'SELECT pg_backend_pid() AS pid', values: [] }]))[0]![0]!.pid;
    const before = await pid();
    // The second batch waits for the pool's only connection while the first ends its session:
    // it must get a new connection, not the dying one (and no unhandled 'error' may crash us).
    // Prepared on the connection first (run with false: no kill), so that the killing exchange
    // has no Parse: a refusal without one gives the connection back to the pool for reuse.
    const kill = { name: 'test_kill', text: 'SELECT pg_terminate_backend(pg_backend_pid()) AS k WHERE $1::bool', values: [false] };
    assert.deepEqual(await pipelinedTx(pool, [ONE, kill]), [[{ n: 1 }], []]);
    const killed = pipelinedTx(pool, [ONE, { ...kill, values: [true] }]);
    const after = pipelinedTx(pool, [ONE]);
    await assert.rejects(killed, (e: { code?: string }) => e.code === '57P01');
    assert.deepEqual(await after, [[{ n: 1 }]]);
    assert.notEqual(await pid(), before, 'a new session');
  } finally {
    await pool.end();
  }
});

test('postgres: a connection lost under a batch fails the batch, not the process', { skip: PG_SKIP }, async () => {
  const pool = newPool({ connectionString: PG_URL!, max: 1, lifetimeSeconds: 0 });
  try {
    let socket: { destroy(): void } | undefined;
    pool.on('acquire', (c) => {
      socket = (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream;
    });
    const slow = pipelinedTx(pool, [{ name: 'test_slow', text: 'SELECT pg_sleep(5)', values: [] }]);
    const look = new pg.Client({ connectionString: PG_URL! });
    await look.connect();
    try {
      await waitFor(async () => (await look.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'")).rowCount, 5000, 'the batch under way');
    } finally {
      await look.end();
    }
    // the socket closes with the batch under way: pg fails the batch and emits 'error' on the
    // checked-out client, which nothing but the pool's own listener hears
    socket!.destroy();
    await assert.rejects(slow, /terminated/i);
    assert.deepEqual(await pipelinedTx(pool, [ONE]), [[{ n: 1 }]]);
  } finally {
    await pool.end();
  }
});
