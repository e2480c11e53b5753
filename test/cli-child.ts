/**
 * The real CLI as a child process, for the crash and multi-process tests: `hookline serve` on
 * port 0, answered once its log says where it listens; killed on demand, and at exit whatever
 * happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { NODE_FLAGS } from '../src/node-flags.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

export interface Child {
  name: string;
  proc: ChildProcess;
  url: string;
  /** its last 400 lines of output, for failure messages */
  output: string[];
}

const START_S = 60;
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Starts `hookline serve --port 0 <args>` with the Hookline variables of this environment cleared. */
export async function spawnHookline(args: string[], name = 'hookline'): Promise<Child> {
  const proc = spawn(NODE, [...NODE_FLAGS, 'src/cli/main.ts', 'serve', '--port', '0', '--log-level', 'info', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', HOOKLINE_API_KEY: '', HOOKLINE_LEASE_MS: '', HOOKLINE_ROLE: '', HOOKLINE_RETRY_SCHEDULE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  // A child left running by a test that failed or timed out must not keep the test process
  // alive (CI sat idle for minutes on one): the 'exit' handler above kills it.
  proc.unref();
  (proc.stdout as unknown as { unref?: () => void }).unref?.();
  (proc.stderr as unknown as { unref?: () => void }).unref?.();
  const child: Child = { name, proc, url: '', output: [] };
  const keep = (line: string): void => {
    child.output.push(line);
    if (child.output.length > 400) child.output.shift();
  };
  proc.stderr!.on('data', (b: Buffer) => keep(b.toString()));
  const lines = createInterface({ input: proc.stdout! });
  child.url = await new Promise<string>((resolve, reject) => {
    // 60 s: a cold start (type stripping, migrations) took 9–20 s while CI shared the 2 cores.
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${START_S} s:\n${child.output.join('\n')}`)), START_S * 1000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${child.output.join('\n')}`));
    });
    lines.on('line', (line) => {
      keep(line);
      try {
        const j = JSON.parse(line) as { msg?: string; url?: string };
        if (j.msg === 'hookline listening' && j.url) {
          clearTimeout(timer);
          resolve(j.url);
        }
      } catch {
        // not a log line
      }
    });
  });
  return child;
}

export const alive = (c: Child): boolean => c.proc.exitCode === null && c.proc.signalCode === null;

/** Sends `signal` (SIGKILL by default) and waits for the exit. */
export async function stopChild(c: Child | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!c || !alive(c)) return;
  const exited = once(c.proc, 'exit');
  c.proc.ref(); // waited on: keeps this process up until the child is gone
  c.proc.kill(signal);
  await exited;
}
