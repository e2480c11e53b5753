/**
 * Runs in a worker thread: copies the WAL back into the database file on a connection of its
 * own, so checkpoints never run on the event loop (on the main thread SQLite's automatic
 * checkpoints blocked it for tens of milliseconds: bench p99 event→receipt 53 ms with them,
 * 15 ms without).
 *
 * Copying is not enough to bound the file. A WAL only starts over from its beginning when a
 * writer finds every frame already copied, and under steady load a new frame is always there
 * (measured: 2.18 GB of WAL after 60 s at 100 calls/s with PASSIVE checkpoints alone). So:
 * - a PASSIVE checkpoint every TICK_MS copies what it can without waiting for anyone;
 * - once the file passes `restartBytes`, one more PASSIVE copies the bulk and a RESTART copies
 *   the few frames written since and makes the next writer start the log over. RESTART holds
 *   the write lock only for that tail and one fsync (a few ms; the main thread waits that long
 *   on its busy timeout), about once per `restartBytes` of WAL;
 * - `journal_size_limit` (set on both connections) truncates the file back to that size when
 *   the log starts over, so the disk is given back too.
 */
import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const TICK_MS = 200;
const { file, restartBytes } = workerData as { file: string; restartBytes: number };
const db = new DatabaseSync(file);
// The checkpointer never waits long: if a RESTART cannot get the lock within this, the next
// tick tries again, and the writers, not the checkpoint, keep the lock.
db.exec(`PRAGMA busy_timeout = 50; PRAGMA journal_size_limit = ${restartBytes}`);

function walBytes(): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    if (walBytes() > restartBytes) {
      db.exec('PRAGMA wal_checkpoint(RESTART)');
    }
  } catch {
    // busy or closing: the next tick tries again
  }
}, TICK_MS);

parentPort!.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.postMessage('stopped');
});
