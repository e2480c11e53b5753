/**
 * The API over each backend, for tests that run the same requests against SQLite and
 * PostgreSQL (skipped, saying so, when HOOKLINE_TEST_DATABASE_URL is unset), with a snapshot of
 * every table so a test can tell that a refused request wrote nothing.
 *
 * The server runs as `--role api` by default: no engine or dispatcher writes behind the test's
 * back, so any change between two snapshots was made by the request in between.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Config } from '../src/config.ts';
import pg from 'pg';
import { PG_SKIP, PG_URL, pgStore, startHookline, tempDir, type TestServer } from './helpers.ts';

const { Client } = pg;

/** table → row count and a hash of its sorted rows */
export type Snapshot = Record<string, { rows: number; hash: string }>;

export interface Started {
  s: TestServer;
  snapshot(): Promise<Snapshot>;
  stop(): Promise<void>;
}

export interface ApiBackend {
  name: string;
  skip: string | false;
  start(config?: Partial<Config>): Promise<Started>;
}

function summarise(rowsByTable: Map<string, string[]>): Snapshot {
  const out: Snapshot = {};
  for (const [table, rows] of rowsByTable) {
    out[table] = { rows: rows.length, hash: createHash('sha256').update(rows.sort().join('\n')).digest('hex').slice(0, 16) };
  }
  return out;
}

export const API_BACKENDS: ApiBackend[] = [
  {
    name: 'sqlite',
    skip: false,
    async start(config = {}) {
      // A file, not :memory:, so a second (read-only) connection can take snapshots.
      const tmp = tempDir('hookline-input-');
      const s = await startHookline({ role: 'api', dataDir: tmp.dir, ...config });
      const db = new DatabaseSync(path.join(tmp.dir, 'hookline.db'), { readOnly: true });
      return {
        s,
        async snapshot() {
          const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
          const byTable = new Map<string, string[]>();
          for (const { name } of tables) byTable.set(name, db.prepare(`SELECT * FROM "${name}"`).all().map((r) => JSON.stringify(r)));
          return summarise(byTable);
        },
        async stop() {
          await s.stop();
          db.close();
          tmp.remove();
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: PG_SKIP,
    async start(config = {}) {
      const fresh = pgStore('hl_input');
      const s = await startHookline({ role: 'api', ...config }, { store: fresh.store });
      // one client for every snapshot: a fuzz run takes hundreds
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      return {
        s,
        async snapshot() {
          const tables = await c.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name", [fresh.schema]);
          const byTable = new Map<string, string[]>();
          for (const { table_name } of tables.rows) {
            const r = await c.query<{ row: string }>(`SELECT t::text AS row FROM ${fresh.schema}."${table_name}" t`);
            byTable.set(table_name, r.rows.map((x) => x.row));
          }
          return summarise(byTable);
        },
        async stop() {
          await s.stop();
          await c.end();
          await fresh.cleanup();
        },
      };
    },
  },
];
