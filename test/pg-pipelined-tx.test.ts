/**
 * sql.ts pipelinedTx: a non-durable transaction commits with synchronous_commit off (BEGIN and
 * the SET go out as one message), a durable one with the server's setting; each step's rows
 * come back in order, and the connection goes back to the pool with the setting undone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
