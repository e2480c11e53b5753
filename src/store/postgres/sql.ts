import type pg from 'pg';
import type { Row } from '../rows.ts';
import { isRefusal, OneSync } from './one-sync.ts';

export type Client = pg.PoolClient | pg.Pool;

/** Rows of a named statement: prepared once per connection, so the hot path skips re-planning. */
export async function rowsOf(c: Client, name: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const r = await c.query({ name, text, values });
  return r.rows as Row[];
}

/** How many rows a named statement changed. */
export async function countOf(c: Client, name: string, text: string, values: unknown[] = []): Promise<number> {
  const r = await c.query({ name, text, values });
  return r.rowCount ?? 0;
}

/**
 * The order in which call writes and settles lock the rows of delivery lines: by order key, then
 * call, in UTF-8 byte order (the order COLLATE "C" gives, whatever the database's collation).
 * Both sides locking in one order is what keeps them from deadlocking.
 */
export function byLine(a: { order_key: string; call_id: string }, b: { order_key: string; call_id: string }): number {
  return Buffer.compare(Buffer.from(a.order_key), Buffer.from(b.order_key)) || Buffer.compare(Buffer.from(a.call_id), Buffer.from(b.call_id));
}

/** A duplicate key in `table`: the server's error names the table in a field of its own (no message text is read). */
export function isDuplicateIn(err: unknown, tables: readonly string[]): boolean {
  const e = err as { code?: unknown; table?: unknown } | null;
  return e !== null && typeof e === 'object' && e.code === '23505' && typeof e.table === 'string' && tables.includes(e.table);
}

/** A statement of a pipelined batch: sent without waiting for the answer to the one before. */
export interface Step {
  name: string;
  text: string;
  values: unknown[];
}

// A non-durable transaction's first statement: synchronous_commit off until its end (the
// function form of SET LOCAL, which is a statement like any other in the exchange).
const SYNC_OFF = { name: 'sync_off', text: "SELECT set_config('synchronous_commit', 'off', true)", values: [] };

/**
 * Runs the steps as one transaction in one round trip and one exchange (one-sync.ts): the
 * server commits them at the Sync, or rolls them all back if one fails (the first error is
 * thrown). Each step gets its own snapshot (READ COMMITTED): a later step sees what the earlier
 * ones wrote and what other transactions committed meanwhile. Answers each step's rows.
 *
 * `durable: false` commits without waiting for the WAL flush (synchronous_commit off, for this
 * transaction only): for writes whose loss in a server crash only repeats work.
 */
export async function pipelinedTx(pool: pg.Pool, steps: Step[], durable = true): Promise<Row[][]> {
  const c = await pool.connect();
  let q: OneSync;
  try {
    q = new OneSync(c, durable ? steps : [SYNC_OFF, ...steps]);
  } catch (err) {
    c.release(); // a value that cannot be sent: nothing went out
    throw err;
  }
  try {
    c.query(q);
    const out = await q.done;
    c.release();
    return durable ? out : out.slice(1);
  } catch (err) {
    // A refused statement leaves the connection idle (rolled back at the Sync) — unless the
    // exchange prepared statements: which ones the server kept is then unknown, so it goes.
    c.release(isRefusal(err) && !q.parses ? undefined : (err as Error));
    throw err;
  }
}

/**
 * Runs `send`, which queues queries on `c`, with the socket corked: pg writes each query to the
 * socket as it is queued, one write each; corked, they go out in one (on this VM a socket write
 * that wakes the server is the dear part).
 */
export function corked<T>(c: pg.PoolClient, send: () => T): T {
  const socket = (c as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  socket?.cork?.();
  try {
    return send();
  } finally {
    socket?.uncork?.();
  }
}

/**
 * A text array sent as one JSON text (`$n` a JSON array of strings or nulls, made by
 * `jsonTexts`), read back as text[] in element order. For the batch statements' long text
 * columns (call documents, rendered requests, attempts' requests): pg sends a text[] parameter
 * as an array literal it builds element by element, escaping each with two regex replaces and
 * concatenating — in the PostgreSQL bench's fixed rate that was a fifth of what survived the
 * Node processes' scavenges (bench/alloc-sample.ts, HL_ALLOC_SURVIVORS=1). JSON.stringify
 * escapes natively, into one string.
 */
export const textsFromJson = (n: number): string =>
  `COALESCE((SELECT array_agg(j.v ORDER BY j.i) FROM json_array_elements_text($${n}::json) WITH ORDINALITY AS j(v, i)), '{}'::text[])`;

// A raw lone surrogate would make PostgreSQL refuse the JSON ("\ud800" alone is no character):
// made U+FFFD, as pg's UTF-8 encoding of a text[] literal made it. (The columns sent so are JSON
// texts, which escape one, or text decoded from bytes, which holds none: a guard, not a path.)
export const jsonTexts = (values: readonly (string | null)[]): string => JSON.stringify(values.map((v) => v?.toWellFormed() ?? null));
