import pg from 'pg';
import type { Call, CallEvent } from '../../calls/model.ts';
import type {
  Account, ApiKeyInfo, Attempt, AttemptResult, CallFilter, CallWrite, Delivery, DeliveryFilter,
  IdempotentAnswer, Resource, RetentionCutoffs, Slots, Store, StoreStats, TimerClaim, WriteOutcome,
} from '../contract.ts';
import { loadMigrations } from '../migrations.ts';
import { attemptFromRow, callFromRow, deliveryFromRow, eventFromRow, resourceFromRow, type Row } from '../rows.ts';
import { Listener } from './listener.ts';
import { claimDue, settleAttempts } from './queue.ts';
import { purge, stats } from './housekeeping.ts';
import { countOf, rowsOf, type Client } from './sql.ts';


// Two processes starting at once must not both migrate: the first takes this advisory lock,
// the second waits for it and then finds nothing left to do.
const MIGRATION_LOCK = 7_362_110;
export const WORK_CHANNEL = 'hookline_work';

/** Thrown inside a transaction to roll it back and answer the outcome. */
class Rollback extends Error {
  readonly outcome: Exclude<WriteOutcome, 'written'>;
  constructor(outcome: Exclude<WriteOutcome, 'written'>) {
    super(outcome);
    this.outcome = outcome;
  }
}

/** How often a claim first hands back deliveries whose lease ran out (their process died). */
const REAP_EVERY_MS = 1000;

export interface PostgresOptions {
  connectionString: string;
  /** a schema of its own (tests isolate themselves this way); created when missing */
  schema?: string;
  max?: number;
}

/**
 * The PostgreSQL store: several Hookline processes share one database. Claims take rows with
 * FOR UPDATE SKIP LOCKED under a lease owned by the claiming process; every later write about a
 * claimed row carries `locked_by = owner`, so a process whose lease expired cannot overwrite
 * its successor's work.
 */
export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #opts: PostgresOptions;
  #listener: Listener | undefined;
  #lastReap = 0;

  constructor(opts: PostgresOptions) {
    this.#opts = opts;
    const schema = opts.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad schema name ${schema}`);
    this.#pool = new pg.Pool({
      connectionString: opts.connectionString,
      // 10 connections: on 2 cores PostgreSQL itself is the limit well before that.
      max: opts.max ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    this.#pool.on('error', () => undefined);
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        // Under the lock: two CREATE SCHEMA IF NOT EXISTS at once can both find it missing, and
        // the second then fails on pg_namespace's unique index.
        if (this.#opts.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.#opts.schema}`);
        await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
        const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r.version)));
        for (const m of loadMigrations('postgres')) {
          if (done.has(m.version)) continue;
          await c.query('BEGIN');
          try {
            await c.query(m.sql);
            await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.#listener?.close();
    await this.#pool.end();
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  async recoverLeases(): Promise<void> {
    // Other live processes may hold leases: they expire on their own.
  }

  /** LISTEN for work: a hint that shortens the wait; polling stays the guarantee. */
  async listen(onWork: () => void): Promise<void> {
    this.#listener = new Listener({ connectionString: this.#opts.connectionString, schema: this.#opts.schema, channel: this.#channel(), onWork });
    await this.#listener.start();
  }

  #channel(): string {
    // pg_notify refuses a channel name over 63 bytes (LISTEN would truncate it to that): cut it
    // there. Two schemas sharing a long prefix then share a channel: extra hints, nothing more.
    return this.#opts.schema ? `${WORK_CHANNEL}_${this.#opts.schema}`.slice(0, 63) : WORK_CHANNEL;
  }

  // accounts and keys

  async getBootstrapAccount(): Promise<string | undefined> {
    const rows = await rowsOf(this.#pool, 'boot_get', 'SELECT account_id FROM api_keys WHERE bootstrap LIMIT 1');
    return rows[0] ? String(rows[0].account_id) : undefined;
  }

  async setBootstrapKey(accountId: string, keyHash: string, now: number): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [accountId, 'default', now]);
      await c.query('DELETE FROM api_keys WHERE bootstrap AND key_hash <> $1', [keyHash]);
      await c.query('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES ($1, $2, TRUE, $3) ON CONFLICT (key_hash) DO NOTHING', [keyHash, accountId, now]);
    });
  }

  async createAccount(a: Account, keyHash: string): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)', [a.id, a.name, a.created_at]);
      await c.query('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES ($1, $2, FALSE, $3)', [keyHash, a.id, a.created_at]);
    });
  }

  async findApiKey(keyHash: string): Promise<ApiKeyInfo | undefined> {
    const rows = await rowsOf(this.#pool, 'key_find', 'SELECT account_id, bootstrap FROM api_keys WHERE key_hash = $1', [keyHash]);
    return rows[0] ? { account_id: String(rows[0].account_id), bootstrap: rows[0].bootstrap === true } : undefined;
  }

  // calls

  async writeCall(w: CallWrite): Promise<WriteOutcome> {
    try {
      return await this.#tx((c) => this.#writeCall(c, w));
    } catch (err) {
      if (err instanceof Rollback) return err.outcome;
      throw err;
    }
  }

  async #writeCall(c: pg.PoolClient, w: CallWrite): Promise<WriteOutcome> {
    const call = w.call;
    if (w.idempotency) {
      const i = w.idempotency;
      const n = await countOf(c, 'idem_put',
        'INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
        [call.account_id, i.route, i.key, i.request_hash, i.status, i.body, call.created_at]);
      if (n === 0) throw new Rollback('key_taken');
    }
    const ingested = w.ingest_event_ids ?? [];
    if (ingested.length > 0) {
      const n = await countOf(c, 'ingest_put',
        `INSERT INTO ingested_events (account_id, event_id, call_id, created_at)
         SELECT $1, e, $3, $4 FROM unnest($2::text[]) AS e ON CONFLICT DO NOTHING`,
        [call.account_id, ingested, call.id, w.events[0]?.occurred_at ?? call.created_at]);
      if (n !== ingested.length) throw new Rollback('key_taken');
    }
    const doc = JSON.stringify(call);
    if (w.expected_version === null) {
      // The only unique key a new call can clash on is the account's external id (ids are new).
      const n = await countOf(c, 'call_insert',
        `INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
        [call.id, call.account_id, call.kind, call.direction, call.from, call.to, call.status, call.outcome, call.channel_id, call.external_id, call.created_at, call.version, doc]);
      if (n === 0) throw new Rollback('call_exists');
    } else {
      const n = await countOf(c, 'call_update', 'UPDATE calls SET status = $1, outcome = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6',
        [call.status, call.outcome, call.version, doc, call.id, w.expected_version]);
      if (n === 0) throw new Rollback('stale');
    }
    if (w.events.length > 0) {
      const e = w.events;
      await countOf(c, 'events_insert',
        `INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data)
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
        [e.map((x) => x.call_id), e.map((x) => x.seq), e.map((x) => x.account_id), e.map((x) => x.type), e.map((x) => x.leg),
          e.map((x) => x.occurred_at), e.map((x) => JSON.stringify(x.data))]);
    }
    if (w.timer_due_at === null) {
      await countOf(c, 'timer_delete', 'DELETE FROM call_timers WHERE call_id = $1', [call.id]);
    } else {
      await countOf(c, 'timer_put',
        `INSERT INTO call_timers (call_id, due_at, locked_by, locked_until) VALUES ($1, $2, NULL, NULL)
         ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = NULL, locked_until = NULL`, [call.id, w.timer_due_at]);
    }
    if (w.deliveries.length > 0) {
      const d = w.deliveries;
      // One statement inserts them all, so a row cannot see the rows beside it: a delivery that
      // follows another of the same call and target in this batch is queued outright; the first
      // is queued only behind an unsettled one already stored.
      const seen = new Set<string>();
      const follows = d.map((x) => {
        const line = `${x.order_key}\u0000${x.call_id}`;
        const f = seen.has(line);
        seen.add(line);
        return f;
      });
      await countOf(c, 'deliveries_insert',
        `INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, request,
                                 status, attempts, next_attempt_at, created_at, updated_at)
         SELECT id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, request,
                CASE WHEN follows OR EXISTS (SELECT 1 FROM deliveries p WHERE p.order_key = t.order_key AND p.call_id = t.call_id
                                                                         AND p.status IN ('queued', 'pending', 'delivering'))
                     THEN 'queued' ELSE 'pending' END,
                0, next_attempt_at, created_at, created_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bool[])
           AS t(id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, request, next_attempt_at, created_at, follows)`,
        [d.map((x) => x.id), d.map((x) => x.account_id), d.map((x) => x.call_id), d.map((x) => x.event_seq), d.map((x) => x.event_type),
          d.map((x) => x.event_name), d.map((x) => x.target_format), d.map((x) => x.target_id), d.map((x) => x.order_key),
          d.map((x) => JSON.stringify(x.request)), d.map((x) => x.next_attempt_at), d.map((x) => x.created_at), follows]);
    }
    if (w.deliveries.length > 0 || w.timer_due_at !== null) {
      // Delivered at commit, to every listening process: "there is work", nothing more.
      await countOf(c, 'notify', 'SELECT pg_notify($1, \'\')', [this.#channel()]);
    }
    return 'written';
  }

  async getCall(accountId: string | null, id: string): Promise<Call | undefined> {
    const rows = accountId === null
      ? await rowsOf(this.#pool, 'call_get_any', 'SELECT doc FROM calls WHERE id = $1', [id])
      : await rowsOf(this.#pool, 'call_get', 'SELECT doc FROM calls WHERE id = $1 AND account_id = $2', [id, accountId]);
    return rows[0] ? callFromRow(rows[0]) : undefined;
  }

  async getCallByExternalId(accountId: string, externalId: string): Promise<Call | undefined> {
    const rows = await rowsOf(this.#pool, 'call_get_ext', 'SELECT doc FROM calls WHERE account_id = $1 AND external_id = $2', [accountId, externalId]);
    return rows[0] ? callFromRow(rows[0]) : undefined;
  }

  async listCalls(accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
    const rows = await rowsOf(this.#pool, 'call_list',
      `SELECT doc FROM calls
       WHERE account_id = $1 AND ($2::text IS NULL OR id < $2)
         AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR direction = $4) AND ($5::text IS NULL OR status = $5)
         AND ($6::text IS NULL OR outcome = $6) AND ($7::text IS NULL OR from_number = $7) AND ($8::text IS NULL OR to_number = $8)
         AND ($9::text IS NULL OR channel_id = $9) AND ($10::text IS NULL OR external_id = $10)
       ORDER BY id DESC LIMIT $11`,
      [accountId, after, f.kind ?? null, f.direction ?? null, f.status ?? null, f.outcome ?? null, f.from ?? null, f.to ?? null,
        f.channel_id ?? null, f.external_id ?? null, limit]);
    return rows.map(callFromRow);
  }

  async listEvents(callIds: string[]): Promise<CallEvent[]> {
    if (callIds.length === 0) return [];
    const rows = await rowsOf(this.#pool, 'events_list', 'SELECT * FROM call_events WHERE call_id = ANY($1::text[]) ORDER BY call_id, seq', [callIds]);
    return rows.map(eventFromRow);
  }

  async getIdempotent(accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined> {
    const rows = await rowsOf(this.#pool, 'idem_get', 'SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND route = $2 AND key = $3', [accountId, route, key]);
    const r = rows[0];
    return r ? { request_hash: String(r.request_hash), status: Number(r.status), body: String(r.body) } : undefined;
  }

  async getIngested(accountId: string, eventId: string): Promise<string | undefined> {
    const rows = await rowsOf(this.#pool, 'ingest_get', 'SELECT call_id FROM ingested_events WHERE account_id = $1 AND event_id = $2', [accountId, eventId]);
    return rows[0] ? String(rows[0].call_id) : undefined;
  }

  // timers

  async claimTimers(owner: string, now: number, leaseUntil: number, limit: number): Promise<TimerClaim[]> {
    const rows = await rowsOf(this.#pool, 'timers_claim',
      `UPDATE call_timers SET locked_by = $1, locked_until = $2
       WHERE call_id IN (
         SELECT call_id FROM call_timers WHERE due_at <= $3 AND (locked_until IS NULL OR locked_until <= $3)
         ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING call_id, due_at`, [owner, leaseUntil, now, limit]);
    return rows.map((r) => ({ call_id: String(r.call_id), due_at: Number(r.due_at) })).sort((a, b) => a.due_at - b.due_at);
  }

  async nextTimerDue(): Promise<number | null> {
    const rows = await rowsOf(this.#pool, 'timers_next', 'SELECT MIN(COALESCE(locked_until, due_at)) AS t FROM call_timers');
    return rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t);
  }

  async releaseTimers(owner: string): Promise<void> {
    await countOf(this.#pool, 'timers_release', 'UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1', [owner]);
  }

  // deliveries

  async claimDeliveries(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, settle: AttemptResult[] = []): Promise<Delivery[]> {
    if (settle.length > 0) {
      // Settling and claiming share one transaction: one commit instead of two per round.
      return this.#tx(async (c) => {
        await settleAttempts(c, settle, now);
        return this.#claim(c, owner, now, leaseUntil, limit, slots);
      });
    }
    return this.#claim(this.#pool, owner, now, leaseUntil, limit, slots);
  }

  #claim(c: Client, owner: string, now: number, leaseUntil: number, limit: number, slots: Slots): Promise<Delivery[]> {
    // At most once a second: a lease runs for seconds, so looking more often finds nothing new.
    const reap = limit > 0 && (now - this.#lastReap >= REAP_EVERY_MS || now < this.#lastReap);
    if (reap) this.#lastReap = now;
    return claimDue(c, owner, now, leaseUntil, limit, slots, reap);
  }

  async recordAttempts(results: AttemptResult[], now: number): Promise<void> {
    if (results.length === 0) return;
    await this.#tx((c) => settleAttempts(c, results, now));
  }

  async nextDeliveryDue(now: number): Promise<number | null> {
    const rows = await rowsOf(this.#pool, 'deliveries_next_after',
      `SELECT LEAST((SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1),
                    (SELECT MIN(locked_until) FROM deliveries WHERE status = 'delivering' AND locked_until > $1)) AS t`, [now]);
    return rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t);
  }

  async releaseDeliveries(owner: string, now: number, ids?: string[]): Promise<void> {
    await countOf(this.#pool, 'deliveries_release_some',
      `UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = $1
       WHERE locked_by = $2 AND status = 'delivering' AND ($3::text[] IS NULL OR id = ANY($3::text[]))`, [now, owner, ids ?? null]);
  }

  async getDelivery(accountId: string, id: string): Promise<Delivery | undefined> {
    const rows = await rowsOf(this.#pool, 'delivery_get', 'SELECT * FROM deliveries WHERE id = $1 AND account_id = $2', [id, accountId]);
    return rows[0] ? deliveryFromRow(rows[0]) : undefined;
  }

  async listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
    const rows = await rowsOf(this.#pool, 'deliveries_list',
      `SELECT * FROM deliveries
       WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR call_id = $3) AND ($4::text IS NULL OR target_id = $4)
         AND ($5::text IS NULL OR status = $5 OR ($5 = 'pending' AND status = 'queued'))
       ORDER BY id DESC LIMIT $6`, [accountId, after, f.call_id ?? null, f.target_id ?? null, f.status ?? null, limit]);
    return rows.map(deliveryFromRow);
  }

  async listAttempts(deliveryIds: string[]): Promise<Attempt[]> {
    if (deliveryIds.length === 0) return [];
    const rows = await rowsOf(this.#pool, 'attempts_list', 'SELECT * FROM delivery_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, attempt', [deliveryIds]);
    return rows.map(attemptFromRow);
  }

  async retryDelivery(accountId: string, id: string, now: number): Promise<boolean> {
    const n = await countOf(this.#pool, 'delivery_retry',
      "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND account_id = $3 AND status IN ('succeeded', 'dead', 'pending')",
      [now, id, accountId]);
    if (n > 0) await this.#pool.query('SELECT pg_notify($1, \'\')', [this.#channel()]);
    return n > 0;
  }

  // resources

  // housekeeping

  async purge(cutoffs: RetentionCutoffs): Promise<number> {
    return this.#tx((c) => purge(c, cutoffs));
  }

  async stats(now: number): Promise<StoreStats> {
    return stats(this.#pool, now);
  }

  async putResource(r: Resource): Promise<void> {
    await this.#tx(async (c) => {
      await countOf(c, 'resource_put',
        `INSERT INTO resources (id, account_id, kind, doc, enabled, disabled_reason, created_at, updated_at, last_success_at, failing_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, enabled = excluded.enabled, disabled_reason = excluded.disabled_reason,
           updated_at = excluded.updated_at, failing_since = excluded.failing_since`,
        [r.id, r.account_id, r.kind, JSON.stringify(r.doc), r.enabled, r.disabled_reason, r.created_at, r.updated_at, r.last_success_at, r.failing_since]);
    });
  }

  async getResource(accountId: string, kind: string, id: string): Promise<Resource | undefined> {
    const rows = await rowsOf(this.#pool, 'resource_get', 'SELECT * FROM resources WHERE account_id = $1 AND kind = $2 AND id = $3', [accountId, kind, id]);
    return rows[0] ? resourceFromRow(rows[0]) : undefined;
  }

  async listResources(accountId: string, kind: string): Promise<Resource[]> {
    const rows = await rowsOf(this.#pool, 'resource_list', 'SELECT * FROM resources WHERE account_id = $1 AND kind = $2 ORDER BY id', [accountId, kind]);
    return rows.map(resourceFromRow);
  }

  async deleteResource(accountId: string, kind: string, id: string): Promise<boolean> {
    return this.#tx(async (c) => {
      const n = await countOf(c, 'resource_delete', 'DELETE FROM resources WHERE account_id = $1 AND kind = $2 AND id = $3', [accountId, kind, id]);
      return n > 0;
    });
  }
}
