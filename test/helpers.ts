/**
 * Test harness: the real server on port 0 over a real store, real receivers on 127.0.0.1, and
 * waiting on conditions (never fixed sleeps). Every helper registers its own cleanup.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testConfig, type Config } from '../src/config.ts';
import { createHookline, type Hookline, type Overrides } from '../src/hookline.ts';
import { newPool } from '../src/store/postgres/pool.ts';
import { claimStep } from '../src/store/postgres/queue.ts';
import { PostgresStore } from '../src/store/postgres/store.ts';
import pg from 'pg';

export const API_KEY = 'hk_test_bootstrap_key';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestServer {
  h: Hookline;
  url: string;
  key: string;
  /** JSON request with the bootstrap key (or `key`) */
  api<T = any>(method: string, path: string, body?: unknown, opts?: { key?: string | null; headers?: Record<string, string>; raw?: string }): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'hookline-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function request<T = any>(base: string, method: string, p: string, body?: unknown, opts: { key?: string | null; headers?: Record<string, string>; raw?: string } = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? API_KEY : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let payload: string | undefined = opts.raw;
  if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Starts Hookline on port 0. Default: in-memory SQLite, private targets allowed, fast retries. */
export async function startHookline(config: Partial<Config> = {}, o: Overrides = {}): Promise<TestServer> {
  const h = await createHookline(testConfig({ apiKey: API_KEY, ...config }), o);
  await h.start();
  const url = h.url;
  return {
    h, url, key: API_KEY,
    api: (method, p, body, opts) => request(url, method, p, body, opts),
    stop: () => h.stop(),
  };
}

/** Polls `cond` until it returns a truthy value (which it answers), or fails after `timeoutMs`. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** set how to answer; default 200 "ok" */
  respond: (fn: (req: Received, res: ServerResponse) => void | Promise<void>) => void;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that records every request. */
export async function startReceiver(): Promise<Receiver> {
  let handler: (req: Received, res: ServerResponse) => void | Promise<void> = (_r, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
  const requests: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(r);
      Promise.resolve(handler(r, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond: (fn) => {
      handler = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: tests read their server from ONE variable and skip, saying so, when it is unset.

/** The PostgreSQL the tests may use (a database they may create schemas in and create databases beside). */
export const PG_URL: string | undefined = process.env.HOOKLINE_TEST_DATABASE_URL || undefined;

/** `skip` option for PostgreSQL tests: false when PG_URL is set, else the reason. */
export const PG_SKIP: string | false = PG_URL ? false : 'HOOKLINE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped';

/** A fresh lower-case identifier, valid as a schema or database name: `prefix_<time>_<random>`. */
export function pgName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

function requirePgUrl(): string {
  if (!PG_URL) throw new Error('HOOKLINE_TEST_DATABASE_URL is not set');
  return PG_URL;
}

/** Runs `fn` on a short-lived client of `url` (default PG_URL) and closes it. */
export async function withPg<T>(fn: (c: pg.Client) => Promise<T>, url: string = requirePgUrl()): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface PgSchema {
  schema: string;
  /** the first store on the schema (not migrated yet) */
  store: PostgresStore;
  /** one more store on the same schema: another "process" (closed by cleanup) */
  another(): PostgresStore;
  /** closes every store made here, then DROP SCHEMA … CASCADE */
  cleanup(): Promise<void>;
}

/**
 * A pool (store/postgres/pool.ts, the store's settings) on a fresh, migrated schema of PG_URL,
 * for tests that read plans or statistics; the pool, its store and the schema go after the test.
 */
export async function pgPoolOnSchema(t: { after(fn: () => Promise<unknown>): void }, prefix: string, max = 1): Promise<{ schema: string; pool: pg.Pool }> {
  const db = pgStore(prefix);
  t.after(() => db.cleanup());
  await db.store.migrate();
  const pool = newPool({ connectionString: requirePgUrl(), schema: db.schema, max, lifetimeSeconds: 0 });
  t.after(() => pool.end());
  return { schema: db.schema, pool };
}

/**
 * The generic plan (EXPLAIN of a prepared statement, as the pool's connections plan) of a claim
 * of up to 128 deliveries of target `key` with `free` slots, 15 followers each.
 */
export async function claimPlan(pool: pg.Pool, key: string, free: number): Promise<string> {
  const s = claimStep('owner', 1, 2, 128, { free: new Map([[key, free]]), fallback: free }, 15);
  const c = await pool.connect();
  try {
    await c.query(`PREPARE claim_plan(text, bigint, bigint, int, int, int, text[], int[], int) AS ${s.text}`);
    return (await c.query(`EXPLAIN EXECUTE claim_plan('owner', 2, 1, 128, 128, ${free}, '{${key}}', '{${free}}', 15)`)).rows
      .map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  } finally {
    await c.query('DEALLOCATE claim_plan').catch(() => undefined);
    c.release();
  }
}

/** A PostgresStore on a fresh random schema of PG_URL; `cleanup` drops the schema. */
/** `options`: the stores' pool settings (e.g. `max`), the same for `another()`'s */
export function pgStore(schemaPrefix = 'hl_test', options: { max?: number } = {}): PgSchema {
  const url = requirePgUrl();
  const schema = pgName(schemaPrefix);
  const stores: PostgresStore[] = [];
  const make = (): PostgresStore => {
    const s = new PostgresStore({ connectionString: url, schema, ...options });
    stores.push(s);
    return s;
  };
  const store = make();
  return {
    schema, store, another: make,
    async cleanup() {
      await Promise.allSettled(stores.map((s) => s.close()));
      await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

export interface PgDatabase {
  name: string;
  /** PG_URL with the database replaced by the fresh one */
  url: string;
  /** DROP DATABASE … WITH (FORCE): ends whatever connections are left */
  drop(): Promise<void>;
}

/** CREATEs a new database on the server of PG_URL; `drop` removes it. */
export async function freshDatabase(prefix = 'hl_test'): Promise<PgDatabase> {
  const base = requirePgUrl();
  const name = pgName(prefix);
  await withPg((c) => c.query(`CREATE DATABASE ${name}`), base);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: async () => {
      await withPg((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), base);
    },
  };
}
