import pg from 'pg';

/**
 * VACUUM of the queue's tables where the server's autovacuum is off.
 *
 * Every claim and promotion writes a new version of a delivery_queue row (the status is in the
 * partial indexes' predicates, so none of these updates is HOT) and a settle deletes it; a
 * settle writes one new version of the delivery's log row; every call write a new version of
 * its calls and call_timers rows. Until a VACUUM the old versions stay, in the heap
 * and in the partial indexes the claims walk: in the bench, after the full-speed phases (~300,000
 * dead versions in deliveries, autovacuum off as on this project's CI server) a claim read ~710
 * buffers and ran 0.94 ms; after one VACUUM, 39 buffers and 0.18 ms, and the fixed rate's p50
 * went from 9 to 6 ms (the dead entries sit in front of the live ones in deliveries_ready, and
 * every claim walks them). Where autovacuum runs (PostgreSQL's default) it is left to do this.
 *
 * A process that delivers looks every CHECK_MS at the tables' dead versions (pg_stat_user_tables,
 * one statement) and vacuums a table once it has enough of them (DEAD_ROWS, DEAD_SHARE), on a
 * connection of its own and under an advisory lock, so that of several processes one vacuums at
 * a time. It is paced like autovacuum (vacuum_cost_delay 2 ms, vacuum_cost_limit 200), with a
 * page found in shared buffers counted as 10 instead of 1 (vacuum_cost_page_hit): the tables
 * are nearly always cached, so at a hit's default cost the pacing hardly ever napped and a
 * VACUUM of `deliveries` after the bench's full-speed phase took a core for ~450 ms — the 5 s
 * window around it read event→receipt p99 110 ms against 24–35 for the others. At 10 it runs
 * for ~0.8 s at a fraction of a core. Not TRUNCATE (migration 0009). On stop a VACUUM under
 * way is cancelled (what it had done is kept, the next one goes on from there).
 */
// 1 s: at full speed (~4,000 deliveries/s, ~3 versions each) the bound is passed every ~2 s, and
// a claim's cost grows with every dead version left in front of the live ones; a queue that
// outgrew its statistics (below) is read with wrong plans until the next look.
export const CHECK_MS = 1_000;
// A table is vacuumed once its dead versions pass DEAD_ROWS + DEAD_SHARE × its live rows:
// ~7,000 deliveries' worth (about three versions each) on a young table, which is vacuumed in
// tens of ms; on a table of millions of rows kept for the log, in proportion to it, as
// autovacuum's own threshold grows (its scale factor 0.2; 0.05 here for a queue), so that a
// VACUUM, which reads every index of the table, is not run back to back.
export const DEAD_ROWS = 20_000;
export const DEAD_SHARE = 0.05;
const TABLES = ['delivery_queue', 'deliveries', 'calls', 'call_timers'] as const;
/**
 * A table whose live rows outgrew what the planner believes (pg_class.reltuples, set by the last
 * VACUUM or ANALYZE) by GROWTH × + GROWTH_ROWS is ANALYZEd, whether autovacuum runs or not
 * (its own ANALYZE waits for a naptime of a minute). delivery_queue swings from empty to tens of
 * thousands of rows within a second: a VACUUM of it while nearly empty leaves reltuples near 0
 * over pages that stay allocated, and PostgreSQL then reckons the table holds ~0 rows however
 * large it grows. Generic plans prepared on that belief (pool.ts) read the queue by full index
 * scans inside nested loops — the claim's chain step scanned the whole queue once per head: 3 to
 * 15 s a claim at ~40,000 rows, deliveries stalled for good in two of four bench runs (session
 * 19). An ANALYZE sets reltuples right, and the change of statistics makes every connection
 * plan those statements again.
 */
export const GROWTH = 4;
export const GROWTH_ROWS = 1_000;
// pg_try_advisory_lock key: "hookline vacuum" (the migrations use another)
const VACUUM_LOCK = 0x686c7661;

export interface VacuumOptions {
  connectionString: string;
  schema: string | undefined;
  deadRows?: number;
  /** a failed look or VACUUM (the next look tries again) */
  onError: (err: unknown) => void;
}

export class Vacuum {
  readonly #o: VacuumOptions;
  readonly #pool: pg.Pool;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<string[]> | undefined;
  /** the server process of the VACUUM's (or ANALYZE's) connection while one runs */
  #pid: number | undefined;
  #stopped = false;

  /** `pool` is the store's, for the look at the tables' statistics. */
  constructor(pool: pg.Pool, o: VacuumOptions) {
    this.#pool = pool;
    this.#o = o;
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => {
      if (!this.#running) this.runOnce().catch(this.#o.onError);
    }, CHECK_MS);
    this.#timer.unref();
  }

  /** Stops looking for good; cancels a VACUUM under way and waits for its connection to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#pid !== undefined) await this.#pool.query('SELECT pg_cancel_backend($1)', [this.#pid]).catch(() => undefined);
    await this.#running?.catch(() => undefined); // cancelled on purpose
  }

  /**
   * One look: analyzes the tables that outgrew their statistics, then vacuums those over the
   * bound (none while autovacuum is on); answers what it did ('ANALYZE t', 't' for a VACUUM).
   */
  runOnce(): Promise<string[]> {
    const run = this.#run().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #run(): Promise<string[]> {
    const { rows } = await this.#pool.query({
      name: 'vacuum_look',
      text: `SELECT current_setting('autovacuum') = 'on' AS auto, s.relname, s.n_dead_tup, s.n_live_tup, c.reltuples
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
             WHERE s.relid IN (${TABLES.map((t) => `'${t}'::regclass`).join(', ')})`,
    });
    const looked = rows as { auto: boolean; relname: string; n_dead_tup: string; n_live_tup: string; reltuples: number }[];
    const grown = looked.filter((r) => Number(r.n_live_tup) > GROWTH * Math.max(0, Number(r.reltuples)) + GROWTH_ROWS).map((r) => r.relname);
    const due = looked
      .filter((r) => !r.auto && Number(r.n_dead_tup) >= (this.#o.deadRows ?? DEAD_ROWS) + DEAD_SHARE * Number(r.n_live_tup))
      .map((r) => r.relname);
    if (due.length === 0 && grown.length === 0) return [];
    const c = new pg.Client({
      connectionString: this.#o.connectionString,
      options: ['-c vacuum_cost_delay=2 -c vacuum_cost_limit=200 -c vacuum_cost_page_hit=10', ...(this.#o.schema ? [`-c search_path=${this.#o.schema}`] : [])].join(' '),
    });
    c.on('error', () => undefined);
    await c.connect();
    try {
      const locked = (await c.query('SELECT pg_try_advisory_lock($1) AS ok, pg_backend_pid() AS pid', [VACUUM_LOCK])).rows[0] as { ok: boolean; pid: number };
      this.#pid = locked.pid;
      if (this.#stopped) return [];
      if (!locked.ok) return []; // another process is vacuuming
      // one at a time, names from the list above (VACUUM takes no parameters); a table vacuumed
      // gets its reltuples from the VACUUM
      const analyze = grown.filter((t) => !due.includes(t));
      for (const t of analyze) await c.query(`ANALYZE ${t}`);
      // TRUNCATE false: giving a table's empty last pages back takes an ACCESS EXCLUSIVE lock
      // that stops every claim and write of the table (migration 0009)
      for (const t of due) await c.query(`VACUUM (TRUNCATE false) ${t}`);
      return [...analyze.map((t) => `ANALYZE ${t}`), ...due];
    } finally {
      this.#pid = undefined;
      await c.end().catch(() => undefined); // the advisory lock goes with the session
    }
  }
}
