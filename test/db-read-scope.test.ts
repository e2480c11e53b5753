/**
 * Reads outside a transaction made in one run of JavaScript share one read transaction (db.ts
 * #read): one snapshot and one WAL read lock for, say, a batch's 200 call lookups. A write of
 * this connection, a `now()` transaction or the next microtask ends it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { Db } from '../src/store/sqlite/db.ts';
import { tempDir } from './helpers.ts';

test('reads of one run share a snapshot; the next microtask, a write or now() ends it', async () => {
  const t = tempDir('hookline-db-read-');
  const db = new Db(t.dir, { checkpoints: false });
  db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
  const other = new DatabaseSync(path.join(t.dir, 'hookline.db'));
  const count = (): number => Number(db.get('SELECT count(*) AS n FROM t')?.n);
  try {
    assert.equal(count(), 0);
    other.exec('INSERT INTO t (x) VALUES (1)');
    assert.equal(count(), 0, 'a read of the same run sees the snapshot of the first');
    await Promise.resolve();
    assert.equal(count(), 1, 'the next microtask reads afresh');

    // A write of this connection in the same run ends the read transaction first and commits.
    db.run('INSERT INTO t (x) VALUES (2)');
    assert.equal(Number(other.prepare('SELECT count(*) AS n FROM t').get()?.n), 2);
    assert.equal(count(), 2);
    assert.equal(db.now(() => db.run('INSERT INTO t (x) VALUES (3)')), 1);
    assert.equal(count(), 3);
    // A group commit after reads of the same run.
    await db.write(() => db.run('INSERT INTO t (x) VALUES (4)'));
    await Promise.resolve();
    assert.equal(Number(other.prepare('SELECT count(*) AS n FROM t').get()?.n), 4);
  } finally {
    other.close();
    await db.close();
    t.remove();
  }
});
