/**
 * Lazy writes (db.ts WriteOptions.lazy: split mode's attempt results): they ride the next group
 * commit another write makes, and alone they are still committed, a little later.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Db } from '../src/store/sqlite/db.ts';
import { LAZY_MS } from '../src/store/sqlite/tuning.ts';
import { tempDir } from './helpers.ts';

function open(): { db: Db; done: () => Promise<void> } {
  const t = tempDir('hookline-db-lazy-');
  const db = new Db(t.dir, { checkpoints: false });
  db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
  return { db, done: async () => { await db.close(); t.remove(); } };
}

const count = (db: Db): number => Number(db.get('SELECT count(*) AS n FROM t')?.n);

test('a lazy write joins the commit of the next eager write', async () => {
  const { db, done } = open();
  try {
    let lazyCommitted = false;
    const t0 = performance.now();
    const lazy = db.write(() => db.run('INSERT INTO t (x) VALUES (1)'), { lazy: true }).then(() => (lazyCommitted = true));
    // A turn later: the lazy write alone would not have been flushed yet (it waits up to
    // LAZY_MS). Only a turn that came back well within that can tell: under a full test run the
    // event loop was once held past it (CI), and then the lazy write's own timer rightly fired first.
    await new Promise((r) => setImmediate(r));
    if (performance.now() - t0 < LAZY_MS / 2) assert.equal(lazyCommitted, false, 'a lazy write alone waits for company');
    await db.write(() => db.run('INSERT INTO t (x) VALUES (2)'));
    // Settled in queue order by the same COMMIT: the lazy one's promise first.
    assert.equal(lazyCommitted, true, 'the eager write’s commit held the lazy one');
    assert.equal(count(db), 2);
    await lazy;
  } finally {
    await done();
  }
});

test('a lazy write alone is committed all the same', async () => {
  const { db, done } = open();
  try {
    await db.write(() => db.run('INSERT INTO t (x) VALUES (1)'), { lazy: true });
    assert.equal(count(db), 1);
  } finally {
    await done();
  }
});

test('an eager write is not held back by a lazy one before it', async () => {
  const { db, done } = open();
  try {
    const order: string[] = [];
    const lazy = db.write(() => db.run('INSERT INTO t (x) VALUES (1)'), { lazy: true }).then(() => order.push('lazy'));
    const eager = db.write(() => db.run('INSERT INTO t (x) VALUES (2)')).then(() => order.push('eager'));
    // The eager write is flushed on the next turn, not at the lazy write's later time: both
    // settle before a 10 ms timer (the lazy write alone would take 20).
    const timer = new Promise((r) => setTimeout(() => r(order.push('timer')), 10));
    await Promise.all([lazy, eager, timer]);
    assert.deepEqual(order, ['lazy', 'eager', 'timer']);
  } finally {
    await done();
  }
});
