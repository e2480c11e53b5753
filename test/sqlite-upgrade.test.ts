/**
 * Migrations on databases written before them. 0008: the unsettled deliveries were found through
 * the partial index deliveries_in_order; after the upgrade they are listed in deliveries_open,
 * and a store opened on the upgraded file claims exactly them. 0009: a body inside the request's
 * JSON. 0012: requests keyed by the delivery's id move to delivery_bodies. And the page size: a
 * new file gets PAGE_SIZE, one made before keeps its own.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { PAGE_SIZE } from '../src/store/sqlite/db.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { claim, enqueue, epoch, ids, newAccount, result, sorted } from './store-harness.ts';
import { tempDir } from './helpers.ts';

/** A data directory with a migrated store and an account; `run` gets them, the directory goes after. */
async function onFile(run: (o: { dir: string; store: SqliteStore; acct: string; T: number }) => Promise<void>): Promise<void> {
  const tmp = tempDir('hookline-upgrade-');
  try {
    const store = new SqliteStore(tmp.dir);
    await store.migrate();
    await run({ dir: tmp.dir, store, acct: await newAccount(store), T: epoch() });
  } finally {
    tmp.remove();
  }
}

test('upgrading to deliveries_open keeps every unsettled delivery of the old schema, and only those', () => onFile(async ({ dir, store: first, acct, T }) => {
  let store = first;
  const { ids: [a, b, c] } = await enqueue(store, acct, T, [{ seq: 1, key: 'up_a' }, { seq: 1, key: 'up_b' }, { seq: 1, key: 'up_c', next: T + 1_000 }]);
  const got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
  await store.recordAttempts([result('o1', got.get(a!)!, 'succeeded', T + 5), result('o1', got.get(b!)!, 'pending', T + 5, { next: T + 100 })], T + 5);
  await store.close();

  // The file as the schema before 0008 left it: no deliveries_open, the partial index back.
  const db = new DatabaseSync(path.join(dir, 'hookline.db'));
  db.exec(`DROP TABLE deliveries_open;
    CREATE INDEX deliveries_in_order ON deliveries (order_key, call_id, event_seq) WHERE status IN ('queued', 'pending', 'delivering');
    DELETE FROM schema_migrations WHERE version = 8;`);
  db.close();

  store = new SqliteStore(dir);
  try {
    await store.migrate();
    assert.deepEqual(sorted(ids(await claim(store, 'o2', T + 2_000))), sorted([b!, c!]));
  } finally {
    await store.close();
  }
}));

test('a request stored before 0009 (its body inside the JSON) reads back whole; one stored after keeps its body apart, unescaped', () => onFile(async ({ dir, store: first, acct, T }) => {
  let store = first;
  const { ids: [old, fresh] } = await enqueue(store, acct, T, [{ seq: 1, key: 'bd_old' }, { seq: 1, key: 'bd_new' }]);
  const before = await store.getDelivery(acct, old!);
  await store.close();

  const db = new DatabaseSync(path.join(dir, 'hookline.db'));
  const row = db.prepare('SELECT b.request, b.body FROM deliveries d JOIN delivery_bodies b ON b.n = d.request_n WHERE d.id = ?').get(fresh!) as { request: string; body: string };
  assert.equal(row.body, before!.request.body, 'the body as it is sent');
  assert.equal((JSON.parse(row.request) as { body?: unknown }).body, undefined, 'not also inside the request');
  db.prepare('UPDATE delivery_bodies SET request = ?, body = NULL WHERE n = (SELECT request_n FROM deliveries WHERE id = ?)').run(JSON.stringify(before!.request), old!);
  db.close();

  store = new SqliteStore(dir);
  try {
    assert.deepEqual((await store.getDelivery(acct, old!))!.request, before!.request);
    const both = await store.listDeliveries(acct, {}, 10, null);
    assert.deepEqual(both.map((d) => d.request.body).sort(), [before!.request.body, row.body].sort());
  } finally {
    await store.close();
  }
}));

test('upgrading to delivery_bodies (0012) keeps every stored request, open or settled, and new ones number on from them', () => onFile(async ({ dir, store: first, acct, T }) => {
  let store = first;
  const { ids: [settled, open, inJson] } = await enqueue(store, acct, T, [{ seq: 1, key: 'rq_a' }, { seq: 1, key: 'rq_b' }, { seq: 1, key: 'rq_c' }]);
  const got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
  await store.recordAttempts([result('o1', got.get(settled!)!, 'succeeded', T + 5), result('o1', got.get(open!)!, 'pending', T + 5, { next: T + 100 })], T + 5);
  const before = new Map(await Promise.all([settled!, open!, inJson!].map(async (id) => [id, await store.getDelivery(acct, id)] as const)));
  await store.close();

  // The file as the schema before 0012 left it: requests keyed by delivery id, one of them from
  // before 0009 (its body inside the JSON).
  const db = new DatabaseSync(path.join(dir, 'hookline.db'));
  db.exec(`CREATE TABLE delivery_requests (delivery_id TEXT PRIMARY KEY, request TEXT NOT NULL, body TEXT);
    INSERT INTO delivery_requests (delivery_id, request, body) SELECT d.id, b.request, b.body FROM deliveries d JOIN delivery_bodies b ON b.n = d.request_n;
    DROP TABLE delivery_bodies;
    ALTER TABLE deliveries DROP COLUMN request_n;
    DELETE FROM schema_migrations WHERE version = 12;`);
  db.prepare('UPDATE delivery_requests SET request = ?, body = NULL WHERE delivery_id = ?').run(JSON.stringify(before.get(inJson!)!.request), inJson!);
  db.close();

  store = new SqliteStore(dir);
  try {
    await store.migrate();
    for (const [id, d] of before) assert.deepEqual((await store.getDelivery(acct, id))!.request, d!.request, id);
    assert.deepEqual(sorted((await store.listDeliveries(acct, {}, 10, null)).map((d) => d.request.body!)), sorted([...before.values()].map((d) => d!.request.body!)));
    // the open ones are claimed whole
    const again = await claim(store, 'o2', T + 2_000);
    assert.deepEqual(sorted(ids(again)), sorted([open!, inJson!]));
    for (const d of again) assert.deepEqual(d.request, before.get(d.id)!.request);
    // a request written after the upgrade takes a number of its own
    const { ids: [later] } = await enqueue(store, acct, T + 3_000, [{ seq: 1, key: 'rq_d' }]);
    const d = await store.getDelivery(acct, later!);
    assert.ok(d!.request.body);
    for (const [id, b] of before) assert.deepEqual((await store.getDelivery(acct, id))!.request, b!.request, `${id} after a new write`);
  } finally {
    await store.close();
  }
}));

test('upgrading attempts to a rowid table (0013) keeps every attempt, and an attempt recorded twice is still kept once', () => onFile(async ({ dir, store: first, acct, T }) => {
  let store = first;
  const { ids: [a, b] } = await enqueue(store, acct, T, [{ seq: 1, key: 'at_a' }, { seq: 1, key: 'at_b' }]);
  let got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
  await store.recordAttempts([result('o1', got.get(a!)!, 'pending', T + 5, { next: T + 10 }), result('o1', got.get(b!)!, 'succeeded', T + 5)], T + 5);
  got = new Map((await claim(store, 'o1', T + 20)).map((d) => [d.id, d]));
  const second = result('o1', got.get(a!)!, 'succeeded', T + 25);
  await store.recordAttempts([second], T + 25);
  const before = await store.listAttempts([a!, b!]);
  assert.equal(before.length, 3);
  await store.close();

  // The file as the schema before 0013 left it: attempts keyed (delivery_id, attempt), WITHOUT ROWID.
  const db = new DatabaseSync(path.join(dir, 'hookline.db'));
  db.exec(`CREATE TABLE old_attempts (
      delivery_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
      status_code INTEGER, error TEXT, request TEXT NOT NULL, response_headers TEXT, response_excerpt TEXT,
      PRIMARY KEY (delivery_id, attempt)) WITHOUT ROWID;
    INSERT INTO old_attempts SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt FROM delivery_attempts;
    DROP TABLE delivery_attempts;
    ALTER TABLE old_attempts RENAME TO delivery_attempts;
    DELETE FROM schema_migrations WHERE version = 13;`);
  db.close();

  store = new SqliteStore(dir);
  try {
    await store.migrate();
    assert.deepEqual(await store.listAttempts([a!, b!]), before);
    // a result recorded again (a commit retried) adds no second row of the same attempt
    await store.recordAttempts([second], T + 30);
    assert.deepEqual(await store.listAttempts([a!, b!]), before);
  } finally {
    await store.close();
  }
}));

test(`a new database has pages of ${PAGE_SIZE} bytes; one made with 4,096-byte pages keeps them and works on`, async () => {
  const pageSize = (dir: string): number => {
    const db = new DatabaseSync(path.join(dir, 'hookline.db'));
    try {
      return Number((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
    } finally {
      db.close();
    }
  };
  await onFile(async ({ dir, store }) => {
    await store.close();
    assert.equal(pageSize(dir), PAGE_SIZE);
  });
  const tmp = tempDir('hookline-upgrade-');
  try {
    // a file as an earlier version made it: SQLite's default pages, already in WAL mode
    const old = new DatabaseSync(path.join(tmp.dir, 'hookline.db'));
    old.exec('PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE made_before (x INTEGER)');
    old.close();
    const store = new SqliteStore(tmp.dir);
    try {
      await store.migrate();
      const acct = await newAccount(store);
      const T = epoch();
      const { ids: [a] } = await enqueue(store, acct, T, [{ seq: 1, key: 'pg_old' }]);
      assert.deepEqual(ids(await claim(store, 'o1', T)), [a]);
    } finally {
      await store.close();
    }
    assert.equal(pageSize(tmp.dir), 4096);
  } finally {
    tmp.remove();
  }
});
