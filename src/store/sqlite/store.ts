import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Call, CallEvent } from '../../calls/model.ts';
import type {
  Account, ApiKeyInfo, Attempt, AttemptResult, CallFilter, CallWrite, Delivery, DeliveryFilter,
  IdempotentAnswer, Resource, RetentionCutoffs, Slots, Store, StoreStats, TimerClaim, WriteOutcome,
} from '../contract.ts';
import { loadMigrations } from '../migrations.ts';
import { claimDue, settleAttempts, type Param, type Sql } from './queue.ts';
import { purge, stats } from './housekeeping.ts';
import { attemptFromRow, callFromRow, deliveryFromRow, eventFromRow, resourceFromRow, type Row } from '../rows.ts';


/**
 * The WAL starts over once it passes this size (checkpointer.ts), and is truncated back to it.
 * 16 MB: at the worst write rate measured (~36 MB/s of WAL at 100 calls/s) that is one RESTART
 * checkpoint every ~0.5 s, each holding the write lock for a few ms; the file stays under
 * WAL_BOUND_BYTES (README) with room for what is written between two checks (200 ms).
 */
export const WAL_RESTART_BYTES = 16 * 1024 * 1024;
export const WAL_BOUND_BYTES = 64 * 1024 * 1024;

/** How often a claim first hands back deliveries whose lease ran out (their process died). */
const REAP_EVERY_MS = 1000;

/**
 * The embedded store: one `node:sqlite` connection in WAL mode. Every call runs synchronously,
 * so a transaction never interleaves with another in this process; SQLite's own lock keeps out
 * other processes (one process per data directory is the supported set-up).
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  readonly #checkpointer: Worker | undefined;
  readonly #file: string | null = null;
  #lastReap = 0;
  /** the statement runners, for the queue's SQL in queue.ts */
  readonly #sql: Sql = {
    run: (sql, ...p) => this.#run(sql, ...p),
    all: (sql, ...p) => this.#all(sql, ...p),
  };

  constructor(dataDir: string) {
    let file = ':memory:';
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true });
      file = path.join(dataDir, 'hookline.db');
      this.#file = file;
    }
    this.#db = new DatabaseSync(file);
    // WAL lets readers run beside the writer. synchronous=NORMAL: a commit survives a process
    // crash (kill -9), which is what SPEC principle 1 names; only an OS crash or power loss can
    // lose the last transactions. FULL costs an fsync per commit (~2 ms here) on the hot path.
    // Checkpoints run in a worker thread (checkpointer.ts), never on the event loop.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    if (file !== ':memory:') {
      // What a killed run left in the WAL is copied back now, before anything runs, and the file
      // truncated: a start never inherits a large log.
      this.#db.exec(`PRAGMA journal_size_limit = ${WAL_RESTART_BYTES}; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 0`);
      this.#checkpointer = new Worker(new URL('./checkpointer.ts', import.meta.url), { workerData: { file, restartBytes: WAL_RESTART_BYTES } });
      // The worker must not keep a finished process alive, nor its failure go unseen: without
      // it SQLite's own checkpoints take over (on the event loop: slower, still bounded).
      this.#checkpointer.unref();
      this.#checkpointer.on('error', () => this.#db.isOpen && this.#db.exec('PRAGMA wal_autocheckpoint = 1000'));
    }
  }

  #q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #all(sql: string, ...params: Param[]): Row[] {
    return this.#q(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: Param[]): Row | undefined {
    return this.#q(sql).get(...params) as Row | undefined;
  }

  #run(sql: string, ...params: Param[]): number {
    return Number(this.#q(sql).run(...params).changes);
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async migrate(): Promise<void> {
    this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set(this.#all('SELECT version FROM schema_migrations').map((r) => Number(r.version)));
    for (const m of loadMigrations('sqlite')) {
      if (done.has(m.version)) continue;
      this.#tx(() => {
        this.#db.exec(m.sql);
        this.#run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', m.version, m.name, Date.now());
      });
    }
  }

  async close(): Promise<void> {
    const worker = this.#checkpointer;
    if (worker) {
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (m) => m === 'stopped' && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    }
    // Closing the last connection checkpoints the WAL into the database file.
    if (this.#db.isOpen) this.#db.close();
  }

  async recoverLeases(now: number): Promise<void> {
    this.#tx(() => {
      this.#run('UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL');
      this.#run("UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = ? WHERE status = 'delivering'", now);
    });
  }

  async ping(): Promise<void> {
    this.#get('SELECT 1');
  }

  // accounts and keys

  async getBootstrapAccount(): Promise<string | undefined> {
    const row = this.#get('SELECT account_id FROM api_keys WHERE bootstrap = 1 LIMIT 1');
    return row ? String(row.account_id) : undefined;
  }

  async setBootstrapKey(accountId: string, keyHash: string, now: number): Promise<void> {
    this.#tx(() => {
      this.#run('INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', accountId, 'default', now);
      this.#run('DELETE FROM api_keys WHERE bootstrap = 1 AND key_hash <> ?', keyHash);
      this.#run('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES (?, ?, 1, ?) ON CONFLICT (key_hash) DO NOTHING', keyHash, accountId, now);
    });
  }

  async createAccount(a: Account, keyHash: string): Promise<void> {
    this.#tx(() => {
      this.#run('INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)', a.id, a.name, a.created_at);
      this.#run('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES (?, ?, 0, ?)', keyHash, a.id, a.created_at);
    });
  }

  async findApiKey(keyHash: string): Promise<ApiKeyInfo | undefined> {
    const row = this.#get('SELECT account_id, bootstrap FROM api_keys WHERE key_hash = ?', keyHash);
    return row ? { account_id: String(row.account_id), bootstrap: row.bootstrap === 1 } : undefined;
  }

  // calls

  async writeCall(w: CallWrite): Promise<WriteOutcome> {
    const c = w.call;
    try {
      return this.#tx(() => this.#writeCall(w, c));
    } catch (err) {
      if (err instanceof Rollback) return err.outcome;
      throw err;
    }
  }

  #writeCall(w: CallWrite, c: Call): WriteOutcome {
    {
      if (w.idempotency) {
        const i = w.idempotency;
        const n = this.#run(
          'INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          c.account_id, i.route, i.key, i.request_hash, i.status, i.body, c.created_at,
        );
        if (n === 0) throw new Rollback('key_taken');
      }
      for (const eventId of w.ingest_event_ids ?? []) {
        const n = this.#run(
          'INSERT INTO ingested_events (account_id, event_id, call_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
          c.account_id, eventId, c.id, w.events[0]?.occurred_at ?? c.created_at,
        );
        if (n === 0) throw new Rollback('key_taken');
      }
      const doc = JSON.stringify(c);
      if (w.expected_version === null) {
        // The only unique key a new call can clash on is the account's external id (ids are new).
        const n = this.#run(
          `INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          c.id, c.account_id, c.kind, c.direction, c.from, c.to, c.status, c.outcome, c.channel_id, c.external_id, c.created_at, c.version, doc,
        );
        if (n === 0) throw new Rollback('call_exists');
      } else {
        const n = this.#run(
          'UPDATE calls SET status = ?, outcome = ?, version = ?, doc = ? WHERE id = ? AND version = ?',
          c.status, c.outcome, c.version, doc, c.id, w.expected_version,
        );
        if (n === 0) throw new Rollback('stale');
      }
      for (const e of w.events) {
        this.#run(
          'INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
          e.call_id, e.seq, e.account_id, e.type, e.leg, e.occurred_at, JSON.stringify(e.data),
        );
      }
      if (w.timer_due_at === null) {
        this.#run('DELETE FROM call_timers WHERE call_id = ?', c.id);
      } else {
        this.#run(
          `INSERT INTO call_timers (call_id, due_at, locked_by, locked_until) VALUES (?, ?, NULL, NULL)
           ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = NULL, locked_until = NULL`,
          c.id, w.timer_due_at,
        );
      }
      for (const d of w.deliveries) {
        this.#run(
          // Behind an unsettled delivery of the same call to the same target, it waits its turn.
          `INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, request,
                                   status, attempts, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                   CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.order_key = ? AND p.call_id = ? AND p.status IN ('queued', 'pending', 'delivering'))
                        THEN 'queued' ELSE 'pending' END,
                   0, ?, ?, ?)`,
          d.id, d.account_id, d.call_id, d.event_seq, d.event_type, d.event_name, d.target_format, d.target_id, d.order_key,
          JSON.stringify(d.request), d.order_key, d.call_id, d.next_attempt_at, d.created_at, d.created_at,
        );
      }
      return 'written';
    }
  }

  async getCall(accountId: string | null, id: string): Promise<Call | undefined> {
    const row = accountId === null
      ? this.#get('SELECT doc FROM calls WHERE id = ?', id)
      : this.#get('SELECT doc FROM calls WHERE id = ? AND account_id = ?', id, accountId);
    return row ? callFromRow(row) : undefined;
  }

  async getCallByExternalId(accountId: string, externalId: string): Promise<Call | undefined> {
    const row = this.#get('SELECT doc FROM calls WHERE account_id = ? AND external_id = ?', accountId, externalId);
    return row ? callFromRow(row) : undefined;
  }

  async listCalls(accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
    // Fixed SQL with "? IS NULL OR" guards: one prepared statement serves every filter combination.
    const rows = this.#all(
      `SELECT doc FROM calls
       WHERE account_id = ? AND (? IS NULL OR id < ?)
         AND (? IS NULL OR kind = ?) AND (? IS NULL OR direction = ?) AND (? IS NULL OR status = ?)
         AND (? IS NULL OR outcome = ?) AND (? IS NULL OR from_number = ?) AND (? IS NULL OR to_number = ?)
         AND (? IS NULL OR channel_id = ?) AND (? IS NULL OR external_id = ?)
       ORDER BY id DESC LIMIT ?`,
      accountId, after, after,
      ...pair(f.kind), ...pair(f.direction), ...pair(f.status), ...pair(f.outcome), ...pair(f.from), ...pair(f.to),
      ...pair(f.channel_id), ...pair(f.external_id), limit,
    );
    return rows.map(callFromRow);
  }

  async listEvents(callIds: string[]): Promise<CallEvent[]> {
    if (callIds.length === 0) return [];
    return this.#all(
      'SELECT * FROM call_events WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, seq',
      JSON.stringify(callIds),
    ).map(eventFromRow);
  }

  async getIdempotent(accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined> {
    const row = this.#get('SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = ? AND route = ? AND key = ?', accountId, route, key);
    return row ? { request_hash: String(row.request_hash), status: Number(row.status), body: String(row.body) } : undefined;
  }

  async getIngested(accountId: string, eventId: string): Promise<string | undefined> {
    const row = this.#get('SELECT call_id FROM ingested_events WHERE account_id = ? AND event_id = ?', accountId, eventId);
    return row ? String(row.call_id) : undefined;
  }

  // timers

  async claimTimers(owner: string, now: number, leaseUntil: number, limit: number): Promise<TimerClaim[]> {
    return this.#all(
      `UPDATE call_timers SET locked_by = ?, locked_until = ?
       WHERE call_id IN (SELECT call_id FROM call_timers WHERE due_at <= ? AND (locked_until IS NULL OR locked_until <= ?) ORDER BY due_at LIMIT ?)
       RETURNING call_id, due_at`,
      owner, leaseUntil, now, now, limit,
    ).map((r) => ({ call_id: String(r.call_id), due_at: Number(r.due_at) })).sort((a, b) => a.due_at - b.due_at);
  }

  async nextTimerDue(): Promise<number | null> {
    const row = this.#get('SELECT MIN(COALESCE(locked_until, due_at)) AS t FROM call_timers');
    return row && row.t !== null ? Number(row.t) : null;
  }

  async releaseTimers(owner: string): Promise<void> {
    this.#run('UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by = ?', owner);
  }

  // deliveries

  async claimDeliveries(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, settle: AttemptResult[] = []): Promise<Delivery[]> {
    return this.#tx(() => {
      settleAttempts(this.#sql, settle, now);
      if (limit <= 0) return [];
      // At most once a second: a lease runs for seconds, so looking more often finds nothing new.
      const reap = now - this.#lastReap >= REAP_EVERY_MS || now < this.#lastReap;
      if (reap) this.#lastReap = now;
      return claimDue(this.#sql, owner, now, leaseUntil, limit, slots, reap);
    });
  }

  async recordAttempts(results: AttemptResult[], now: number): Promise<void> {
    if (results.length === 0) return;
    this.#tx(() => settleAttempts(this.#sql, results, now));
  }

  async nextDeliveryDue(now: number): Promise<number | null> {
    const a = this.#get("SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending' AND next_attempt_at > ?", now);
    const b = this.#get("SELECT MIN(locked_until) AS t FROM deliveries WHERE status = 'delivering' AND locked_until > ?", now);
    const ts = [a?.t, b?.t].filter((t) => t !== null && t !== undefined).map(Number);
    return ts.length ? Math.min(...ts) : null;
  }

  async releaseDeliveries(owner: string, now: number, ids?: string[]): Promise<void> {
    this.#run(
      `UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = ?
       WHERE locked_by = ? AND status = 'delivering' AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))`,
      now, owner, ids === undefined ? null : 1, JSON.stringify(ids ?? []),
    );
  }

  async getDelivery(accountId: string, id: string): Promise<Delivery | undefined> {
    const row = this.#get('SELECT * FROM deliveries WHERE id = ? AND account_id = ?', id, accountId);
    return row ? deliveryFromRow(row) : undefined;
  }

  async listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
    return this.#all(
      `SELECT * FROM deliveries
       WHERE account_id = ? AND (? IS NULL OR id < ?) AND (? IS NULL OR call_id = ?) AND (? IS NULL OR target_id = ?)
         AND (? IS NULL OR status = ? OR (? = 'pending' AND status = 'queued'))
       ORDER BY id DESC LIMIT ?`,
      accountId, after, after, ...pair(f.call_id), ...pair(f.target_id), ...pair(f.status), f.status ?? null, limit,
    ).map(deliveryFromRow);
  }

  async listAttempts(deliveryIds: string[]): Promise<Attempt[]> {
    if (deliveryIds.length === 0) return [];
    return this.#all(
      'SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt',
      JSON.stringify(deliveryIds),
    ).map(attemptFromRow);
  }

  async retryDelivery(accountId: string, id: string, now: number): Promise<boolean> {
    const n = this.#run(
      "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND account_id = ? AND status IN ('succeeded', 'dead', 'pending')",
      now, now, id, accountId,
    );
    return n > 0;
  }

  // housekeeping

  async purge(cutoffs: RetentionCutoffs): Promise<number> {
    return this.#tx(() => purge(this.#sql, cutoffs));
  }

  async stats(now: number): Promise<StoreStats> {
    return stats(this.#sql, this.#file, now);
  }

  // resources

  async putResource(r: Resource): Promise<void> {
    this.#tx(() => {
      this.#run(
        `INSERT INTO resources (id, account_id, kind, doc, enabled, disabled_reason, created_at, updated_at, last_success_at, failing_since)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, enabled = excluded.enabled, disabled_reason = excluded.disabled_reason,
           updated_at = excluded.updated_at, failing_since = excluded.failing_since`,
        r.id, r.account_id, r.kind, JSON.stringify(r.doc), r.enabled ? 1 : 0, r.disabled_reason, r.created_at, r.updated_at, r.last_success_at, r.failing_since,
      );
    });
  }

  async getResource(accountId: string, kind: string, id: string): Promise<Resource | undefined> {
    const row = this.#get('SELECT * FROM resources WHERE account_id = ? AND kind = ? AND id = ?', accountId, kind, id);
    return row ? resourceFromRow(row) : undefined;
  }

  async listResources(accountId: string, kind: string): Promise<Resource[]> {
    return this.#all('SELECT * FROM resources WHERE account_id = ? AND kind = ? ORDER BY id', accountId, kind).map(resourceFromRow);
  }

  async deleteResource(accountId: string, kind: string, id: string): Promise<boolean> {
    return this.#tx(() => {
      const n = this.#run('DELETE FROM resources WHERE account_id = ? AND kind = ? AND id = ?', accountId, kind, id);
      return n > 0;
    });
  }

}

/** Thrown inside a transaction to roll it back and answer the outcome. */
class Rollback extends Error {
  readonly outcome: Exclude<WriteOutcome, 'written'>;
  constructor(outcome: Exclude<WriteOutcome, 'written'>) {
    super(outcome);
    this.outcome = outcome;
  }
}

function pair(v: string | undefined): [Param, Param] {
  return [v ?? null, v ?? null];
}
