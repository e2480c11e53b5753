/**
 * The bench's children (receiver, Hookline server) and the parent talk over the fork() IPC
 * channel: the child announces `ready` once listening, then answers `{id, cmd, args}` requests.
 * Every child the parent starts is SIGKILLed when the parent exits, however it exits, so a
 * failed or interrupted run never leaves a server or receiver behind.
 */
import { fork, type ChildProcess } from 'node:child_process';

type Handler = (args: any) => unknown;

interface Reply {
  type: 'reply';
  id: number;
  result?: unknown;
  error?: string;
}

// ---- child side ----------------------------------------------------------------------------

/** In a child: announce `ready` with `info`, then answer the parent's commands; exits after `stop`. */
export function serveParent(info: Record<string, unknown>, handlers: Record<string, Handler>): void {
  const send = (msg: unknown, cb?: () => void): void => {
    if (process.connected) process.send!(msg, undefined, {}, () => cb?.());
  };
  process.on('message', (m: { id: number; cmd: string; args?: unknown }) => {
    const h = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        return h(m.args);
      })
      .then(
        // `stop` is the last command: exit once its answer is on its way (a CPU profile is written then).
        (result) => send({ type: 'reply', id: m.id, result } satisfies Reply, m.cmd === 'stop' ? () => process.exit(0) : undefined),
        (err: unknown) => send({ type: 'reply', id: m.id, error: String((err as Error)?.stack ?? err) } satisfies Reply),
      );
  });
  // The parent is gone (crashed, killed): nobody will stop us, so stop ourselves.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...info });
}

/** CPU time (user + system, ms) this process has used: the parent diffs it per phase. */
export function usage(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

// ---- parent side ---------------------------------------------------------------------------

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface Child<Info> {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly info: Info;
  ask<T = any>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** asks the child to stop cleanly (a CPU profile is only written on a clean exit), then kills it */
  stop(): Promise<void>;
}

export async function startChild<Info>(
  name: string, script: string, args: string[], opts: { execArgv?: string[]; readyTimeoutMs?: number } = {},
): Promise<Child<Info>> {
  // fork() runs process.execPath: the project's Node 24 that `npm run bench` started us with.
  const proc = fork(script, args, { execArgv: opts.execArgv ?? [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(proc);
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    live.delete(proc);
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
    waiting.clear();
  });
  proc.on('message', (m: Reply) => {
    if (m?.type !== 'reply') return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(`${name}: ${m.error}`));
    else w?.resolve(m.result);
  });

  const info = await new Promise<Info>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${opts.readyTimeoutMs ?? 20_000} ms`)), opts.readyTimeoutMs ?? 20_000);
    proc.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        resolve(m as Info);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
  });

  const ask = <T>(cmd: string, a?: unknown, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!proc.connected) return reject(new Error(`${name} is not running`));
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${name} did not answer ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      proc.send({ id, cmd, args: a });
    });

  return {
    name, proc, info, ask,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await ask('stop', undefined, 15_000).catch(() => undefined);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
