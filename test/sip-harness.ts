/** SIPp for the SIP driver's tests: a scenario of test/sip/ run as the far end, on 127.0.0.1. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { waitFor } from './helpers.ts';

function hasSipp(): boolean {
  try {
    execFileSync('sipp', ['-v'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `sipp -v` exits 99 after printing its version: only "not found" means it is missing.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export const SIPP_SKIP: string | false = hasSipp() ? false : 'sipp is not installed (Debian package sip-tester; .ci/run installs it): SIP tests skipped';

/** A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both). */
export async function freePort(): Promise<number> {
  for (;;) {
    const tcp = createServer();
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    tcp.close();
    if (ok) return port;
  }
}

export interface Sipp {
  port: number;
  /** resolves with SIPp's exit code: 0 when its scenario went as written */
  exited: Promise<number | null>;
  output: () => string;
  kill(): void;
}

/** Starts SIPp on a scenario of test/sip/ as a UAS for `calls` calls; resolves once it listens. */
export async function startSipp(scenario: string, opts: { transport?: 'udp' | 'tcp'; calls?: number; extra?: string[] } = {}): Promise<Sipp> {
  const port = await freePort();
  const t = opts.transport === 'tcp' ? 't1' : 'u1';
  const file = path.join(import.meta.dirname, 'sip', scenario);
  const child: ChildProcess = spawn('sipp', ['-sf', file, '-i', '127.0.0.1', '-p', String(port), '-t', t, '-m', String(opts.calls ?? 1), '-nostdin', '-nd', ...(opts.extra ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kind = opts.transport === 'tcp' ? '-Hltn' : '-Hlun';
  await waitFor(() => child.exitCode !== null || execFileSync('ss', [kind, `sport = :${port}`]).toString().trim() !== '', 10_000, `sipp listening on ${port}`);
  if (child.exitCode !== null) throw new Error(`sipp exited at once: ${out}`);
  return { port, exited, output: () => out, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}
