/**
 * The WAL file is cut back only past its bound (db.ts WAL_RESTART_BYTES): a log that starts
 * over keeps the file it had, instead of the writer truncating it to 16 MB at every restart
 * (an ftruncate of 3.7–7 ms on the event loop, ~1.6 times a second at the bench's fixed rate).
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Db, WAL_BOUND_BYTES, WAL_RESTART_BYTES } from '../src/store/sqlite/db.ts';
import { tempDir } from './helpers.ts';

test('a WAL that starts over keeps its file; the writer does not truncate it to the restart size', async () => {
  const t = tempDir('hookline-db-wal-');
  // no checkpointer thread: the test runs the one checkpoint itself, at a known moment
  const db = new Db(t.dir, { checkpoints: false });
  const wal = path.join(t.dir, 'hookline.db-wal');
  try {
    db.exec('CREATE TABLE t (b TEXT NOT NULL)');
    const chunk = 'x'.repeat(256 * 1024);
    // ~20 MB of WAL, past the restart size and under the bound
    for (let i = 0; i < 80; i++) await db.write(() => db.run('INSERT INTO t (b) VALUES (?)', chunk));
    const grown = statSync(wal).size;
    assert.ok(grown > WAL_RESTART_BYTES && grown < WAL_BOUND_BYTES, `the WAL grew to ${grown} bytes`);
    // Every frame copied and nobody reading: the next write starts the log over from its start.
    const r = db.get('PRAGMA wal_checkpoint(RESTART)');
    assert.equal(Number(r?.busy), 0);
    await db.write(() => db.run('INSERT INTO t (b) VALUES (?)', 'x'));
    await db.write(() => db.run('INSERT INTO t (b) VALUES (?)', 'x'));
    assert.equal(statSync(wal).size, grown, 'the file was truncated when the log started over');
    assert.equal(Number(db.get('SELECT count(*) AS n FROM t')?.n), 82);
  } finally {
    await db.close();
    t.remove();
  }
});
