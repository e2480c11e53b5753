/**
 * Runs in a worker thread: copies the WAL back into the database file every second with a
 * PASSIVE checkpoint on a connection of its own. A checkpoint writes and fsyncs the database
 * file; on the main thread SQLite's automatic checkpoints blocked the event loop for tens of
 * milliseconds (bench: p99 event→receipt 53 ms with them, 15 ms without). PASSIVE never waits
 * for the writer or blocks it.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const INTERVAL_MS = 1000;
const { file } = workerData as { file: string };
const db = new DatabaseSync(file);
db.exec('PRAGMA busy_timeout = 1000');

const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // busy or closing: the next round tries again
  }
}, INTERVAL_MS);

parentPort!.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.postMessage('stopped');
});
