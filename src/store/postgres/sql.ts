import type pg from 'pg';
import type { Row } from '../rows.ts';

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
