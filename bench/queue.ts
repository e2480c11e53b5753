/**
 * How many deliveries each target has in each state, read straight from the run's database
 * (SQLite read-only beside the running Hookline, or the bench's PostgreSQL database): the API
 * lists deliveries a page at a time, too slow for a backlog of 100,000. `due` is the part of
 * `pending` whose next attempt time has come: the rows a claim has to walk past.
 */
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';

export type QueueCounts = Record<string, number>;

const SQL = `SELECT target_id, status, COUNT(*) AS n, SUM(CASE WHEN status = 'pending' AND next_attempt_at <= ? THEN 1 ELSE 0 END) AS due
             FROM deliveries WHERE target_id IN (SELECT value FROM json_each(?)) GROUP BY target_id, status`;
// (an open delivery's status and next attempt are in its delivery_queue row)
const PG_SQL = `SELECT d.target_id, COALESCE(q.status, d.status) AS status, COUNT(*)::int AS n,
                       SUM(CASE WHEN q.status = 'pending' AND q.next_attempt_at <= $1 THEN 1 ELSE 0 END)::int AS due
                FROM deliveries d LEFT JOIN delivery_queue q ON q.id = d.id
                WHERE d.target_id = ANY($2::text[]) GROUP BY d.target_id, COALESCE(q.status, d.status)`;

interface Row { target_id: string; status: string; n: number; due: number | null }

/** counts by status (and `due`, `total`) per target id; null when the database could not be read */
export async function queueCounts(db: { sqliteDir?: string; postgresUrl?: string }, targets: string[]): Promise<Record<string, QueueCounts> | null> {
  try {
    const now = Date.now();
    let rows: Row[];
    if (db.postgresUrl !== undefined) {
      const c = new pg.Client({ connectionString: db.postgresUrl });
      await c.connect();
      try {
        rows = (await c.query(PG_SQL, [now, targets])).rows as Row[];
      } finally {
        await c.end();
      }
    } else {
      const d = new DatabaseSync(path.join(db.sqliteDir!, 'hookline.db'), { readOnly: true });
      try {
        rows = d.prepare(SQL).all(now, JSON.stringify(targets)) as unknown as Row[];
      } finally {
        d.close();
      }
    }
    const out: Record<string, QueueCounts> = Object.fromEntries(targets.map((t) => [t, { total: 0, due: 0 }]));
    for (const r of rows) {
      const c = out[r.target_id]!;
      c[r.status] = Number(r.n);
      c.total! += Number(r.n);
      c.due! += Number(r.due ?? 0);
    }
    return out;
  } catch (err) {
    process.stderr.write(`bench: could not count deliveries in the database: ${(err as Error).message}\n`);
    return null;
  }
}
