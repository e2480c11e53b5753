/**
 * CPU per phase, in % of one core (2 cores = 200 % in all): each process of ours (this load
 * generator, every Hookline process, the receiver), PostgreSQL's processes serving the run, what
 * the rest of the machine used meanwhile (`others`: a run that shares the machine is not a clean
 * measurement) and time spent waiting on the disk (`iowait`, e.g. SQLite or WAL syncs).
 * `others` counts the hypervisor's steal too (time this VM's CPUs were given to other guests,
 * which slows every thread of ours alike); `steal` says how much of it that was.
 */
import { readFileSync } from 'node:fs';
import { usage, type Child } from './ipc.ts';
import { round } from './load.ts';
import { cpuDelta } from './pg.ts';

export interface CpuSample {
  wall: number;
  /** CPU ms so far per process of ours, by name (parent, server | api, worker_1 …, receiver) */
  ours: Record<string, number>;
  /** PostgreSQL's processes serving this run, CPU ms by pid (null: SQLite, or not on this machine) */
  postgres: Map<number, number> | null;
  /** what `postgres` is reported as */
  storeName: string;
  machine: { busy: number; iowait: number; steal: number } | null;
}

/** Whole-machine busy and iowait CPU ms so far (Linux /proc/stat; USER_HZ is 100 there). */
function machineCpu(): CpuSample['machine'] {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq + steal) * 10, iowait: iowait * 10, steal: steal * 10 };
  } catch {
    return null;
  }
}

export class CpuMeter {
  readonly #children: Child<unknown>[];
  readonly #postgres: (() => Promise<Map<number, number> | null>) | undefined;
  readonly #storeName: string;

  /**
   * `children` by the name their CPU is reported under; `postgres` samples the CPU of the
   * database processes, reported as `storeName` (a peer's Redis is measured the same way)
   */
  constructor(children: Child<unknown>[], postgres?: () => Promise<Map<number, number> | null>, storeName = 'postgres') {
    this.#children = children;
    this.#postgres = postgres;
    this.#storeName = storeName;
  }

  async sample(): Promise<CpuSample> {
    const wall = performance.now();
    const [child, postgres] = await Promise.all([
      Promise.all(this.#children.map((c) => c.ask<number>('usage'))),
      this.#postgres?.().catch(() => null) ?? null,
    ]);
    const ours: Record<string, number> = { parent: usage() };
    this.#children.forEach((c, i) => (ours[c.name] = child[i]!));
    return { wall, ours, postgres, storeName: this.#storeName, machine: machineCpu() };
  }

  /**
   * % of one core per process between two samples; with several workers also their sum
   * (`workers`); `postgres` when measured; `others` is the machine's busy time minus all of that.
   */
  static pct(a: CpuSample, b: CpuSample): Record<string, number> {
    const wall = b.wall - a.wall;
    const pct = (ms: number) => round((100 * ms) / wall, 0);
    const out: Record<string, number> = {};
    let known = 0;
    for (const [name, v] of Object.entries(b.ours)) {
      const ms = v - (a.ours[name] ?? 0);
      known += ms;
      out[name] = pct(ms);
    }
    const workers = Object.keys(b.ours).filter((k) => k.startsWith('worker_'));
    if (workers.length > 0) out.workers = pct(workers.reduce((s, k) => s + b.ours[k]! - (a.ours[k] ?? 0), 0));
    const pg = cpuDelta(a.postgres, b.postgres);
    if (pg !== null) {
      out[b.storeName] = pct(pg);
      known += pg;
    }
    if (a.machine && b.machine) {
      out.others = pct(Math.max(0, b.machine.busy - a.machine.busy - known));
      out.iowait = pct(b.machine.iowait - a.machine.iowait);
      out.steal = pct(b.machine.steal - a.machine.steal);
    }
    return out;
  }

  /** CPU ms between two samples of the processes of ours whose name passes `ours`, plus the store's when `store` */
  static ms(a: CpuSample, b: CpuSample, ours: (name: string) => boolean, store: boolean): number {
    let ms = 0;
    for (const [name, v] of Object.entries(b.ours)) if (ours(name)) ms += v - (a.ours[name] ?? 0);
    return ms + (store ? (cpuDelta(a.postgres, b.postgres) ?? 0) : 0);
  }
}
