import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * One process per SQLite data directory. The delivery queue and the timers' leases live in the
 * owning process's memory (scheduler.ts, timers.ts): a second process on the same database — a
 * second `hookline serve` left running, another port — would send the same deliveries and play
 * the same call steps. `hookline.pid` holds the owner's pid, made with O_EXCL. A file whose
 * process is gone (kill -9, a crash) is taken over; the threads of the owning process (split
 * mode's delivery thread) share it. Two processes starting at the same instant over a stale
 * file could both take it: the lock is against mistakes, not a consensus protocol.
 */
export const DATA_DIR_IN_USE = 'HOOKLINE_DATA_DIR_IN_USE';

/** Takes the directory for this process; answers how to give it back (a no-op where another thread of ours took it). */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'hookline.pid');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (pidIn(file) === process.pid) unlink(file);
      };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    const pid = pidIn(file);
    if (pid === process.pid) return () => undefined;
    if (pid !== null && alive(pid)) {
      throw Object.assign(new Error(`the data directory ${dir} is in use by process ${pid} (another Hookline?); stop it, or give this one another --data-dir`), { code: DATA_DIR_IN_USE });
    }
    unlink(file); // its process is gone (or the file is unreadable): take it over
  }
  throw Object.assign(new Error(`the data directory ${dir} could not be locked (${file} keeps coming back)`), { code: DATA_DIR_IN_USE });
}

function pidIn(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'; // alive, another user's
  }
}

function unlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}
