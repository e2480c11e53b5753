/**
 * The Hookline processes under test, each the real composition root (bench/server.ts) in a child
 * process of its own:
 *
 *   SQLite (default)  one process, --role all, on a fresh temp data dir        → `server`
 *   --postgres        one --role api process (the load generator's API) and N  → `api`,
 *                     --role worker processes (engine + delivery), on a fresh     `worker_1` …
 *                     database that is dropped at the end
 *
 * stop() stops whatever was started, also after a failed start; kill() is the Ctrl-C path;
 * restart() starts the processes afresh on the same data (`--backlog` builds its backlog with
 * an API-only process in between).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChild, type Child } from './ipc.ts';
import { createBenchDatabase, DEFAULT_ADMIN_URL, type BenchDatabase } from './pg.ts';
import { NODE_FLAGS } from '../src/node-flags.ts';

export interface TopologyOptions {
  postgres: boolean;
  workers: number;
  cpuProf: boolean;
  /** --perf: JavaScript frames named for Linux perf (--perf-basic-prof) */
  perf?: boolean;
  /** more Node/V8 flags for the Hookline processes (--node-args), e.g. GC experiments */
  nodeArgs?: string[];
  profDir: string;
  /** SQLite's data dir */
  dataDir: string;
  apiKey: string;
  /** unique per run: names the PostgreSQL database */
  stamp: string;
  log: (msg: string) => void;
  /** more Hookline flags, e.g. --retry-schedule for the isolation runs */
  extraArgs?: string[];
}

export type ServerInfo = { url: string; backend: string };

export class Topology {
  readonly #o: TopologyOptions;
  /** every Hookline process started so far, the API-serving one first */
  readonly children: Child<ServerInfo>[] = [];
  database: BenchDatabase | undefined;
  #creating: Promise<BenchDatabase> | undefined;
  #stopped: Promise<void> | undefined;
  #dropped: Promise<void> | undefined;

  constructor(o: TopologyOptions) {
    this.#o = o;
  }

  /** the process the load generator places calls with */
  get api(): Child<ServerInfo> {
    return this.children[0]!;
  }

  get backend(): string {
    return this.api.info.backend;
  }

  /** for the report's header */
  describe(): string {
    const flags = this.#o.nodeArgs?.length ? `, node ${this.#o.nodeArgs.join(' ')}` : '';
    if (!this.#o.postgres) return `${this.backend} in a fresh temp dir, one process (--role all)${flags}`;
    return `${this.backend} (fresh database ${this.database?.name}), 1 --role api process + ${this.#o.workers} --role worker process${this.#o.workers === 1 ? '' : 'es'}${flags}`;
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.postgres) {
      const adminUrl = process.env.HOOKLINE_BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;
      this.#creating = createBenchDatabase(adminUrl, `hookline_bench_${o.stamp.toLowerCase().replace(/[^a-z0-9]/g, '')}`);
      this.database = await this.#creating;
      o.log(`created database ${this.database.name}`);
    }
    await this.#startProcesses(false);
  }

  /**
   * Stops the Hookline processes (the data stays) and starts them again on the same data.
   * `apiOnly`: only the API process (SQLite: --role api; PostgreSQL: no workers), which writes
   * calls and their deliveries but claims none. `children` then lists the new processes.
   */
  async restart(apiOnly: boolean): Promise<void> {
    await this.#stopProcesses();
    this.children.length = 0;
    await this.#startProcesses(apiOnly);
  }

  async #startProcesses(apiOnly: boolean): Promise<void> {
    const o = this.#o;
    const common = ['--port', '0', '--api-key', o.apiKey, '--allow-private-targets', '--log-level', 'warn', ...(o.extraArgs ?? [])];
    // --expose-gc only lets the bench ask for a full GC before it reads the heap (bench/rss.ts); it changes nothing else.
    const execArgv = [...(o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', o.profDir] : []), ...(o.perf ? ['--perf-basic-prof', `--logfile=${path.join(tmpdir(), 'hookline-v8-%p.log')}`, '--no-logfile-per-isolate'] : []), '--expose-gc', ...NODE_FLAGS, ...(o.nodeArgs ?? [])];
    const start = (name: string, args: string[]) => startChild<ServerInfo>(name, new URL('./server.ts', import.meta.url).pathname, [...common, ...args], { execArgv });
    if (!o.postgres) {
      this.children.push(await start('server', ['--data-dir', o.dataDir, ...(apiOnly ? ['--role', 'api'] : [])]));
      o.log(`hookline ${this.api.info.url} (${this.backend}, data in ${o.dataDir}${apiOnly ? ', --role api' : ''})`);
      return;
    }
    const pgArgs = ['--database-url', this.database!.url];
    // The API process first: it migrates and sets the bootstrap key; the workers then find both.
    this.children.push(await start('api', [...pgArgs, '--role', 'api']));
    const workers = await Promise.allSettled(
      Array.from({ length: apiOnly ? 0 : o.workers }, (_, i) => start(`worker_${i + 1}`, [...pgArgs, '--role', 'worker'])));
    for (const w of workers) if (w.status === 'fulfilled') this.children.push(w.value);
    const failed = workers.find((w) => w.status === 'rejected');
    if (failed) throw failed.reason;
    o.log(`hookline api ${this.api.info.url}; workers ${this.children.slice(1).map((c) => c.info.url).join(', ') || 'none'} (${this.backend})`);
  }

  async #stopProcesses(): Promise<void> {
    // Workers first: the API process then has nothing left to hand work to.
    await Promise.all(this.children.slice(1).map((c) => c.stop()));
    await this.children[0]?.stop();
  }

  /** stops every Hookline process cleanly (a CPU profile is written then), then drops the database */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.#stopProcesses();
      await this.#dropDatabase();
    })();
    return this.#stopped;
  }

  /** Ctrl-C: no clean stop, but the database is still dropped */
  async kill(): Promise<void> {
    for (const c of this.children) c.proc.kill('SIGKILL');
    await this.#dropDatabase();
  }

  #dropDatabase(): Promise<void> {
    this.#dropped ??= this.#drop();
    return this.#dropped;
  }

  async #drop(): Promise<void> {
    // A Ctrl-C while CREATE DATABASE runs: wait for it, then drop what it created.
    const db = this.database ?? (await this.#creating?.catch(() => undefined));
    if (!db) return;
    try {
      await db.drop();
      this.#o.log(`dropped database ${db.name}`);
    } catch (err) {
      this.#o.log(`could not drop database ${db.name}: ${(err as Error).message}; drop it by hand`);
    }
  }
}
