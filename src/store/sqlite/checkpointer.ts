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
 * - once the file passes `restartBytes`, more PASSIVE copies catch up with the writers (catchUp)
 *   and a RESTART copies the few frames written since and makes the next writer start the log
 *   over. RESTART holds the write lock only for that tail and its syncs (a few ms; the main
 *   thread waits that long on its busy timeout), about once per `restartBytes` of WAL;
 * - `journal_size_limit` (set on both connections to `limitBytes`, the WAL's bound) truncates a
 *   file that a burst grew past the bound back to it when the log starts over.
 */
import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const TICK_MS = 200;
const { file, restartBytes, limitBytes } = workerData as { file: string; restartBytes: number; limitBytes: number };
const db = new DatabaseSync(file);
// The checkpointer never waits long: if a RESTART cannot get the lock within this, the next
// tick tries again, and the writers, not the checkpoint, keep the lock.
db.exec(`PRAGMA busy_timeout = 50; PRAGMA journal_size_limit = ${limitBytes}`);

function walBytes(): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
/** frames (pages) in the WAL, as a checkpoint reports them */
const walFrames = (r: unknown): number => Number((r as { log?: number } | undefined)?.log ?? 0);

/**
 * Before a RESTART: more PASSIVE copies, without the write lock, until one finds fewer than this
 * many frames written since the one before (at most CATCH_UP_PASSES). The RESTART copies, under
 * the write lock, every frame written since the last copy; the writers wait meanwhile. Measured
 * on a machine where a system call costs ~20–30 µs (session 10), 1,000 events/s: the ~25 ms of
 * one PASSIVE let ~200 frames pile up, and the RESTART that copied them held the writers
 * 10–17 ms every ~0.6 s; after catching up, 2–3 ms.
 */
const CATCH_UP_FRAMES = 32;
const CATCH_UP_PASSES = 5;

function catchUp(): void {
  let frames = walFrames(passive.get());
  for (let i = 1; i < CATCH_UP_PASSES; i++) {
    const now = walFrames(passive.get());
    // the WAL restarted meanwhile (now < frames), or little was written during the last copy
    if (now - frames < CATCH_UP_FRAMES) return;
    frames = now;
  }
}

const timer = setInterval(() => {
  try {
    passive.get();
    if (walBytes() > restartBytes) {
      catchUp();
      restart.get();
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
