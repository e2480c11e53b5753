/**
 * One process per SQLite data directory (src/store/sqlite/dir-lock.ts): a second `hookline serve`
 * on a directory in use stops at once with one line naming the owner, before it touches the
 * database (it would deliver the same deliveries); the directory of a process killed with -9
 * is taken over by the next start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { spawnHookline, stopChild } from './cli-child.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

test('a second process on a data directory in use is refused; a killed owner\'s directory is taken over', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-lock-'));
  const env = { ...process.env, DATABASE_URL: '', HOOKLINE_API_KEY: 'hk_lock_test_key', HOOKLINE_DATA_DIR: '', PORT: '' };
  let first;
  try {
    first = await spawnHookline(['--data-dir', dir]);
    const pid = first.proc.pid!;
    assert.equal(readFileSync(path.join(dir, 'hookline.pid'), 'utf8').trim(), String(pid));
    const second = spawnSync(NODE, ['src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env });
    assert.equal(second.status, 2, second.stderr);
    assert.equal(second.stderr.trim(), `hookline: the data directory ${dir} is in use by process ${pid} (another Hookline?); stop it, or give this one another --data-dir`);
    await stopChild(first); // kill -9: the pid file stays, its process is gone
    assert.ok(existsSync(path.join(dir, 'hookline.pid')));
    first = await spawnHookline(['--data-dir', dir]);
    assert.equal(readFileSync(path.join(dir, 'hookline.pid'), 'utf8').trim(), String(first.proc.pid));
    // a clean stop gives the directory back
    await stopChild(first, 'SIGTERM');
    assert.equal(existsSync(path.join(dir, 'hookline.pid')), false);
  } finally {
    await stopChild(first);
    rmSync(dir, { recursive: true, force: true });
  }
});
