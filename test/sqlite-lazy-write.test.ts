/**
 * The SQLite group commit's lazy writes (Db WriteOptions.lazy: the delivery results): a lazy
 * write starts no commit of its own while another write is due soon — it joins the next commit
 * another write starts — and alone it is still committed, within LAZY_MS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Db } from '../src/store/sqlite/db.ts';
import { tempDir } from './helpers.ts';

test('a lazy write joins the commit the next write starts, and alone is committed soon after', async () => {
  const tmp = tempDir('hookline-lazy-');
  const db = new Db(tmp.dir, { checkpoints: false });
  try {
    db.exec('CREATE TABLE t (n INTEGER)');
    const commits = (): number => Number(db.get('SELECT count(*) AS n FROM t')!.n);
    let lazyDone = false;
    const lazy = db.write(() => db.run('INSERT INTO t (n) VALUES (1)'), { lazy: true }).then(() => (lazyDone = true));
    // Two turns of the event loop: an ordinary write would have been committed by now.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(lazyDone, false, 'a lazy write waits for company');
    // The next ordinary write carries it: both in one commit.
    await db.write(() => db.run('INSERT INTO t (n) VALUES (2)'));
    assert.equal(lazyDone, true, 'committed with the next write');
    await lazy;
    assert.equal(commits(), 2);

    // Alone: committed within LAZY_MS (10 ms) all the same.
    const t0 = performance.now();
    await db.write(() => db.run('INSERT INTO t (n) VALUES (3)'), { lazy: true });
    const waited = performance.now() - t0;
    assert.equal(commits(), 3);
    assert.ok(waited < 1_000, `a lone lazy write waited ${waited.toFixed(0)} ms`);
  } finally {
    await db.close();
    tmp.remove();
  }
});
