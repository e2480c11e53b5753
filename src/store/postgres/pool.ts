import pg from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** a schema of its own: the search_path of every connection */
  schema?: string;
  max: number;
  /** each connection lives between this and twice this, at random (see below); 0: for ever */
  lifetimeSeconds: number;
}

/**
 * The connection pool, with connections that do not all end at once.
 *
 * Why a lifetime: statements are prepared per connection and PostgreSQL reuses a generic plan,
 * made from the table sizes of the moment. On a young database the tables grow from nothing to
 * ~100,000 rows in a minute, and a plan made for 400 rows scanned them all (20 ms per settle). A
 * new connection plans again from the sizes of then. That was the reason for 30–60 s; it is now
 * 10–20 minutes (store.ts): every statement of the hot path is written as index probes and runs
 * with sequential scans off (below), so its plan depends far less on the table's size, and a
 * VACUUM or ANALYZE of a table (vacuum.ts, or autovacuum) invalidates the plans that read it
 * anyway. Not at all is too strong: a table the planner believes empty still gets nested loops
 * over whole-index scans, which is why vacuum.ts also ANALYZEs a table that outgrew its
 * statistics (delivery_queue swings from empty to ~40,000 rows). A new connection is not free
 * on a loaded server: in the PostgreSQL bench's fixed rate, 30–60 s meant 18 new server
 * processes in 30 s, and a request that had to wait for one waited 30–96 ms (its fork, start and
 * first plans); 10–20 minutes, 2 (both the VACUUM's own).
 *
 * Why at random: pg-pool gives every connection the same lifetime from its connect. The
 * connections of a burst are made together, so they ended together and were made again together,
 * every 30 s for as long as the process ran: ~10 new server processes per Hookline process within
 * a second, each re-preparing its statements (in the bench's fixed rate on PostgreSQL, one 5 s
 * window in six read p99 95–321 ms against 24–67 for the others, with the new backends at ~50 %
 * of a core). Spread over [L, 2L), the ten connections of a burst end one every ~L/10 s.
 *
 * Sequential scans off (`enable_seqscan = off`: the planner takes one only where no index
 * serves). A statement prepared while the tables were young keeps a generic plan costed for
 * them: the dispatcher's settle joined its ~10 ids to `deliveries` by a hash join over a
 * sequential scan, costed for 342 rows, and ran it over 17,000+ rows (and their dead versions)
 * 16 times a second at the bench's fixed 500 events/s (auto_explain; 2.4 million rows read in
 * 10 s). Every statement of the hot path reads by key or through an index made for it; with
 * this setting a plan made for a small table is the same plan as for a large one.
 *
 * Generic plans only (`plan_cache_mode = force_generic_plan`). Every statement is prepared
 * (named) and written for a generic plan (above; deliveries.ts LIST_REST), but under the default
 * (`auto`) PostgreSQL still plans a statement afresh at each execution whenever its custom plans
 * look cheaper than the generic one — as they do for the batch statements, whose unnest() of a
 * short array is estimated at its length in a custom plan and at 10 rows in a generic one. In
 * the bench's fixed 500 events/s (pg_stat_statements, track_planning) a third of the call
 * writes, settles and promotions were planned again: 5,000+ plans in 30 s, ~2.9 s of the
 * server's CPU (the call write ~0.9 ms a plan, more than its execution).
 *
 * No JIT (`jit = off`). A disabled sequential scan is costed at 10^10, far above
 * jit_above_cost (100,000), so every plan that still holds one (no index serves: the bootstrap
 * key's lookup, a small table) was compiled by LLVM at each execution: 165 ms for the bootstrap
 * key at start, 150 ms for each purge pick that had one (pg_stat_statements' jit columns). Short
 * statements by key never gain from JIT.
 *
 * Idle connections are not closed for idleness (pg-pool's default closes them after 10 s and
 * makes new ones at the next burst, the same churn): the lifetime ends them.
 */
export function newPool(o: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.connectionString,
    // A transaction's statements go out together (pipelinedTx): one round trip, not one each.
    pipeline: true,
    max: o.max,
    idleTimeoutMillis: 0,
    maxLifetimeSeconds: o.lifetimeSeconds,
    // Sequential scans off, generic plans only, no JIT (see above): `-c` settings of the
    // connection, before any statement.
    options: ['-c enable_seqscan=off -c plan_cache_mode=force_generic_plan -c jit=off', ...(o.schema ? [`-c search_path=${o.schema}`] : [])].join(' '),
  });
  if (o.lifetimeSeconds > 0) {
    // pg-pool reads `options.maxLifetimeSeconds` when each connection is made (it has no jitter
    // of its own): a getter gives each its own lifetime.
    Object.defineProperty(pool.options, 'maxLifetimeSeconds', {
      get: () => o.lifetimeSeconds * (1 + Math.random()),
      configurable: true,
    });
  }
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor a checked-out client's: pg emits 'error' on the client when its socket fails, and
  // pg-pool listens only while the client is idle (and in pool.query). The queries under way
  // fail with the error and their callers release the client with it, which ends it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
