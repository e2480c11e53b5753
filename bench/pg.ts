/**
 * PostgreSQL for `npm run bench -- --postgres`: a fresh database per run on the server of
 * HOOKLINE_BENCH_DATABASE_URL, dropped WITH (FORCE) at the end whatever happened, and the CPU
 * PostgreSQL spends for the run (its backends connected to that database plus its background
 * processes: WAL writer, checkpointer, …), read from /proc like the rest of the bench's CPU.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  readonly name: string;
  /** the fresh database's URL, for --database-url */
  readonly url: string;
  /** CPU ms PostgreSQL processes serving this run have used so far, by pid (null: not on this machine) */
  cpu(): Promise<Map<number, number> | null>;
  /** the server's version and the settings that weigh on commit cost, for the results file */
  settings(): Promise<Record<string, string>>;
  /** drops the database (terminating any connection still open); safe to call more than once */
  drop(): Promise<void>;
}

/** `name` must be a plain lower-case identifier: it is interpolated (quoted) into DDL. */
export async function createBenchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  admin.on('error', () => undefined); // a dropped admin connection must not crash the run: drop() reconnects
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw new Error(`could not create the bench database on ${redact(adminUrl)} (set HOOKLINE_BENCH_DATABASE_URL): ${(err as Error).message}`);
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.hostname.startsWith('/');
  let dropped: Promise<void> | undefined;

  return {
    name, url: u.toString(),
    async settings() {
      const { rows } = await admin.query(
        `SELECT name, current_setting(name) AS value FROM pg_settings
         WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'max_connections') ORDER BY name`);
      return Object.fromEntries((rows as { name: string; value: string }[]).map((r) => [r.name, r.value]));
    },
    async cpu() {
      if (!local) return null;
      // Our database's backends and every background process (no database: walwriter, …).
      const { rows } = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE (datname = $1 OR backend_type <> 'client backend') AND pid <> pg_backend_pid()`, [name]);
      const out = new Map<number, number>();
      for (const { pid } of rows as { pid: number }[]) {
        const ms = procCpuMs(pid);
        if (ms !== null) out.set(pid, ms);
      }
      return out;
    },
    drop() {
      dropped ??= (async () => {
        // The admin connection may be gone (the server restarted, a Ctrl-C): use a fresh one.
        const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
        c.on('error', () => undefined);
        try {
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await c.end().catch(() => undefined);
          await admin.end().catch(() => undefined);
        }
      })();
      return dropped;
    },
  };
}

/** CPU ms (user + system) a process has used, from /proc/<pid>/stat (USER_HZ is 100 on Linux). */
export function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime: fields 14 and 15
  } catch {
    return null;
  }
}

/** CPU ms spent between two samples by the processes of the later one (a new process counts from 0). */
export function cpuDelta(a: Map<number, number> | null, b: Map<number, number> | null): number | null {
  if (a === null || b === null) return null;
  let ms = 0;
  for (const [pid, v] of b) ms += Math.max(0, v - (a.get(pid) ?? 0));
  return ms;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
