/**
 * Issue 9, bounded disk: under sustained load the SQLite WAL stays under WAL_BOUND_BYTES (the
 * README's figure), and a start after kill -9 truncates whatever WAL the killed run left.
 *
 * The load is the one that grew the WAL without limit before (an operator's harness: 2.18 GB
 * after 60 s at 100 calls/s): simulated calls through the API, each event delivered to a native
 * endpoint on a real receiver, for 60 s (HOOKLINE_WAL_TEST_S shortens it for a local look).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { WAL_BOUND_BYTES } from '../src/store/sqlite/store.ts';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { API_KEY, request, startReceiver, tempDir, waitFor, type Receiver } from './helpers.ts';
import { createEndpoint } from './delivery-helpers.ts';

const LOAD_S = Number(process.env.HOOKLINE_WAL_TEST_S ?? 60);
const CALLS_PER_S = 100;
const MB = 1024 * 1024;

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

const startChild = (dataDir: string): Promise<Child> => spawnHookline(['--data-dir', dataDir, '--api-key', API_KEY, '--allow-private-targets']);

test(`the WAL stays under ${WAL_BOUND_BYTES / MB} MB through ${LOAD_S} s at ${CALLS_PER_S} calls/s, and a start after kill -9 truncates it`, async () => {
  const data = tempDir('hookline-wal-');
  const wal = path.join(data.dir, 'hookline.db-wal');
  let rx: Receiver | undefined;
  let first: Child | undefined;
  let second: Child | undefined;
  try {
    rx = await startReceiver();
    first = await startChild(data.dir);
    await createEndpoint(first.url, { url: `${rx.url}/wal` });
    const url = first.url;

    let placed = 0;
    let failed = 0;
    let maxWal = 0;
    const inFlight = new Set<Promise<void>>();
    const start = performance.now();
    const end = start + LOAD_S * 1000;
    // Paced, not closed-loop: the load does not ease off when Hookline slows down.
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - start) / 1000) * CALLS_PER_S);
      while (placed < due) {
        placed += 1;
        const p: Promise<void> = request(url, 'POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: { ring_ms: 20, talk_ms: 50 } })
          .then((r) => {
            if (r.status !== 201) failed += 1;
          }, () => {
            failed += 1;
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      maxWal = Math.max(maxWal, sizeOf(wal));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(inFlight);
    maxWal = Math.max(maxWal, sizeOf(wal));
    const delivered = rx.requests.length;
    process.stderr.write(`# wal: ${placed} calls in ${LOAD_S} s, ${delivered} deliveries received, largest WAL ${(maxWal / MB).toFixed(1)} MB\n`);
    assert.equal(failed, 0, 'every call was accepted');
    assert.ok(delivered > placed * 3, `the load really ran: ${delivered} deliveries for ${placed} calls`);
    assert.ok(maxWal < WAL_BOUND_BYTES, `the WAL reached ${(maxWal / MB).toFixed(1)} MB`);

    // Killed mid-flight: whatever WAL it leaves, the next start copies back and truncates.
    await stopChild(first);
    const atKill = sizeOf(wal);
    second = await startChild(data.dir);
    const afterStart = sizeOf(wal);
    process.stderr.write(`# wal: ${(atKill / MB).toFixed(1)} MB left by kill -9, ${(afterStart / MB).toFixed(2)} MB after the restart\n`);
    assert.ok(afterStart < 1 * MB, `WAL after restart: ${afterStart} bytes`);
  } finally {
    await stopChild(first);
    await stopChild(second);
    await rx?.close();
    data.remove();
  }
});

test('a 40 MB WAL left by a killed writer is checkpointed and truncated at start, its commits kept', async () => {
  const data = tempDir('hookline-wal-kill-');
  const db = path.join(data.dir, 'hookline.db');
  let h: Child | undefined;
  try {
    // First a real start, so the database has Hookline's schema; then a writer that commits
    // ~40 MB with checkpoints off and dies by SIGKILL before it could checkpoint or close.
    h = await startChild(data.dir);
    await stopChild(h, 'SIGTERM');
    h = undefined;
    const writer = spawn(process.execPath, ['-e', `
      const { DatabaseSync } = require('node:sqlite');
      const db = new DatabaseSync(${JSON.stringify(db)});
      db.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE IF NOT EXISTS wal_filler (id INTEGER PRIMARY KEY, blob TEXT)');
      const ins = db.prepare('INSERT INTO wal_filler (blob) VALUES (?)');
      for (let i = 0; i < 400; i++) { db.exec('BEGIN'); for (let j = 0; j < 25; j++) ins.run('x'.repeat(4000)); db.exec('COMMIT'); }
      process.kill(process.pid, 'SIGKILL');
    `], { stdio: 'inherit' });
    await once(writer, 'exit');
    const left = sizeOf(`${db}-wal`);
    assert.ok(left > 30 * MB, `the killed writer left a ${left}-byte WAL`);

    h = await startChild(data.dir);
    assert.ok(sizeOf(`${db}-wal`) < 1 * MB, `WAL after the start: ${sizeOf(`${db}-wal`)} bytes`);
    const ready = await waitFor(async () => (await request(h!.url, 'GET', '/readyz')).status === 200, 5000, 'ready');
    assert.ok(ready);
    const { DatabaseSync } = await import('node:sqlite');
    const check = new DatabaseSync(db, { readOnly: true });
    try {
      assert.equal((check.prepare('SELECT count(*) AS n FROM wal_filler').get() as { n: number }).n, 10_000, 'every committed row survived');
    } finally {
      check.close();
    }
  } finally {
    await stopChild(h);
    data.remove();
  }
});
