import type pg from 'pg';
import type { Call, CallEvent } from '../../calls/model.ts';
import {
  claimableTimer, type Account, type ApiKeyInfo, type Attempt, type AttemptResult, type CallFilter, type CallWrite, type Delivery,
  type DeliveryFilter, type NewDelivery, type IdempotentAnswer, type Resource, type RetentionCutoffs, type Slots, type Store,
  type StoreStats, type TimerClaim, type WriteOutcome,
} from '../contract.ts';
import { loadMigrations } from '../migrations.ts';
import type { Row } from '../rows.ts';
import * as accounts from './accounts.ts';
import { Batcher, ItemFailed } from './batch.ts';
import * as calls from './calls.ts';
import * as deliveries from './deliveries.ts';
import { purge, stats } from './housekeeping.ts';
import { Listener } from './listener.ts';
import { unreachable } from './unreachable.ts';
import { Notifier } from './notifier.ts';
import { claimedFrom, claimStep, promoteStep, reapStep, settlesForGood, settleStep } from './queue.ts';
import * as resources from './resources.ts';
import { newPool } from './pool.ts';
import { corked, pipelinedTx, type Step } from './sql.ts';
import * as timers from './timers.ts';
import { Vacuum } from './vacuum.ts';

// Two processes starting at once must not both migrate: the first takes this advisory lock,
// the second waits for it and then finds nothing left to do.
const MIGRATION_LOCK = 7_362_110;
export const WORK_CHANNEL = 'hookline_work';

/** How often a claim first hands back deliveries whose lease ran out (their process died). */
const REAP_EVERY_MS = 1000;
// nextTimerDue answers from the claim before it if asked within this long (the engine asks at once).
const TIMER_NEXT_FRESH_MS = 5;
/**
 * After a call write, on its connection: "there is work" if it set a timer or one of its
 * deliveries is due (not queued behind an earlier event) and still unclaimed.
 */
const NOTIFY_WRITTEN = `SELECT pg_notify($1, '') WHERE $2::bool
  OR EXISTS (SELECT 1 FROM delivery_queue WHERE id = ANY($3::text[]) AND status = 'pending')`;

export interface PostgresOptions {
  connectionString: string;
  /** a schema of its own (tests isolate themselves this way); created when missing */
  schema?: string;
  max?: number;
  /** what fails in the background (a VACUUM, vacuum.ts): logged, tried again later */
  onBackgroundError?: (err: unknown, what: string) => void;
}

/**
 * The PostgreSQL store: several Hookline processes share one database. Claims take rows with
 * FOR NO KEY UPDATE SKIP LOCKED under a lease owned by the claiming process; every later write
 * about a claimed row carries `locked_by = owner`, so a process whose lease expired cannot
 * overwrite its successor's work. This class holds the pool, transactions, migrations, LISTEN,
 * the NOTIFY hint and the batching of call writes and their reads (group commit); the
 * statements live by concern in accounts, calls, timers, queue, deliveries, resources and
 * housekeeping.
 *
 * Round trips: a call write is one statement, shared with the other writes of its batch (it was
 * a transaction of 8–10 statements); a dispatcher round — settle, promote, reap, claim — is one
 * pipelined transaction in one socket write (it was 9–11 statements one after another).
 */
export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #opts: PostgresOptions;
  #listener: Listener | undefined;
  readonly #notifier: Notifier;
  // 256 writes per statement at most: ~50 array parameters, each a few hundred elements.
  readonly #writes = new Batcher<CallWrite, WriteOutcome>((ws) => this.#writeBatch(ws), 256, (w) => w.call.id);
  // What a call write starts from, read in batches too (500 probes per statement at most).
  readonly #callReads = new Batcher((keys: { accountId: string | null; id: string }[]) => calls.getCalls(this.#pool, keys), 500);
  readonly #externalReads = new Batcher((keys: { accountId: string; externalId: string }[]) => calls.getCallsByExternalId(this.#pool, keys), 500);
  readonly #ingestReads = new Batcher((keys: { accountId: string; eventId: string }[]) => calls.getIngested(this.#pool, keys), 500);
  // New calls' numbers, taken in batches too (accounts.ts).
  readonly #numbers = new Batcher((accountIds: string[]) => accounts.nextCallNumbers(this.#pool, accountIds), 500);
  #lastReap = 0;
  /** when to look at the timers again, as the last claim's transaction answered (nextTimerDue) */
  #timerNext: { next: number | null; at: number } | undefined;
  readonly #vacuum: Vacuum;

  constructor(opts: PostgresOptions) {
    this.#opts = opts;
    const schema = opts.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad schema name ${schema}`);
    // 10 connections: on 2 cores PostgreSQL itself is the limit well before that. Each lives
    // 10–20 minutes (pool.ts says why).
    this.#pool = newPool({ connectionString: opts.connectionString, schema, max: opts.max ?? 10, lifetimeSeconds: 600 });
    this.#vacuum = new Vacuum(this.#pool, {
      connectionString: opts.connectionString, schema, onError: (err) => opts.onBackgroundError?.(err, 'vacuum'),
    });
    // Delivered to every listening process: "there is work", nothing more.
    this.#notifier = new Notifier(() => this.#pool.query({ name: 'notify', text: 'SELECT pg_notify($1, \'\')', values: [this.#channel()] }));
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
    await this.#vacuum.stop();
    this.#notifier.close();
    await this.#listener?.close();
    await this.#pool.end();
  }

  unreachable(err: unknown): boolean {
    return unreachable(err);
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

  getBootstrapAccount(): Promise<string | undefined> {
    return accounts.getBootstrapAccount(this.#pool);
  }

  setBootstrapKey(accountId: string, keyHash: string, now: number, onlyIfNone = false): Promise<boolean> {
    return this.#tx((c) => accounts.setBootstrapKey(c, accountId, keyHash, now, onlyIfNone));
  }

  createAccount(a: Account, keyHash: string): Promise<void> {
    return this.#tx((c) => accounts.createAccount(c, a, keyHash));
  }

  findApiKey(keyHash: string): Promise<ApiKeyInfo | undefined> {
    return accounts.findApiKey(this.#pool, keyHash);
  }

  // calls

  writeCall(w: CallWrite): Promise<WriteOutcome> {
    return this.#writes.add(w);
  }

  /** A batch of call writes in one statement (calls.ts, batch.ts). */
  async #writeBatch(ws: CallWrite[]): Promise<(WriteOutcome | ItemFailed)[]> {
    // The NOTIFY goes out with the write, on its connection, right behind it (NOTIFY_WRITTEN):
    // the server runs it as soon as the write has committed, not a round trip of this process
    // later, and only if the write made work. Sent after its commit, never inside it: a
    // notifying transaction holds a lock over its whole commit, one at a time.
    const maybe = ws.some((w) => w.deliveries.length > 0 || claimableTimer(w)) && this.#notifier.mayFireNow();
    let r: calls.Written;
    try {
      r = await this.#written(ws, maybe);
    } catch (err) {
      if (ws.length === 1) throw err;
      // The batch wrote nothing. A taken key or a bad row is one write's: each alone finds whose,
      // and the others go in — and are answered so, whatever the one at fault answers.
      const alone = await Promise.allSettled(ws.map(async (w) => (await this.#writeBatch([w]))[0]!));
      return alone.map((a) => (a.status === 'fulfilled' ? a.value : new ItemFailed(a.reason)));
    }
    if (!maybe && (r.due > 0 || r.timers > 0)) this.#notifier.hint();
    return r.outcomes;
  }

  /** The batch's statement, and with `notify` the NOTIFY behind it in the same socket write. */
  async #written(ws: CallWrite[], notify: boolean): Promise<calls.Written> {
    if (!notify) return calls.writeCalls(this.#pool, ws);
    const c = await this.#pool.connect();
    let write: Promise<calls.Written>;
    let note: Promise<unknown>;
    try {
      [write, note] = corked(c, () => [
        calls.writeCalls(c, ws),
        c.query({
          name: 'notify_written', text: NOTIFY_WRITTEN,
          values: [this.#channel(), ws.some(claimableTimer), ws.flatMap((w) => w.deliveries.map((d) => d.id))],
        }),
      ] as const);
    } catch (err) {
      c.release(err as Error); // nothing was queued: the client itself is in a bad state
      throw err;
    }
    // The connection goes back once both have answered; the write's answer does not wait for the NOTIFY's.
    void Promise.allSettled([write, note]).then(([, n]) => c.release(n.status === 'rejected' ? (n.reason as Error) : undefined));
    return write;
  }

  getCall(accountId: string | null, id: string): Promise<Call | undefined> {
    return this.#callReads.add({ accountId, id });
  }

  getCallByExternalId(accountId: string, externalId: string): Promise<Call | undefined> {
    return this.#externalReads.add({ accountId, externalId });
  }

  nextCallNumber(accountId: string): Promise<number> {
    return this.#numbers.add(accountId);
  }

  listCalls(accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
    return calls.listCalls(this.#pool, accountId, f, limit, after);
  }

  liveCalls(driver: string): Promise<Call[]> {
    return calls.liveCalls(this.#pool, driver);
  }

  listEvents(callIds: string[]): Promise<CallEvent[]> {
    return calls.listEvents(this.#pool, callIds);
  }

  getIdempotent(accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined> {
    return calls.getIdempotent(this.#pool, accountId, route, key);
  }

  getIngested(accountId: string, eventId: string): Promise<string | undefined> {
    return this.#ingestReads.add({ accountId, eventId });
  }

  // timers

  async claimTimers(owner: string, now: number, leaseUntil: number, limit: number): Promise<TimerClaim[]> {
    const { claims, next } = await timers.claimTimers(this.#pool, owner, now, leaseUntil, limit);
    this.#timerNext = { next, at: performance.now() };
    return claims;
  }

  nextTimerDue(): Promise<number | null> {
    // Right after a claim, its own answer (timers.ts): as fresh as a statement sent now would be.
    const n = this.#timerNext;
    this.#timerNext = undefined;
    if (n !== undefined && performance.now() - n.at <= TIMER_NEXT_FRESH_MS) return Promise.resolve(n.next);
    return timers.nextTimerDue(this.#pool);
  }

  releaseTimers(owner: string): Promise<void> {
    return timers.releaseTimers(this.#pool, owner);
  }

  // deliveries

  async claimDeliveries(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, settle: AttemptResult[] = [], followers = 0): Promise<Delivery[]> {
    // A process that delivers keeps the queue's tables vacuumed where autovacuum is off (vacuum.ts).
    this.#vacuum.start();
    const steps = this.#settleSteps(settle, now);
    // Reaping at most once a second: a lease runs for seconds, so looking more often finds nothing new.
    if (limit > 0 && (now - this.#lastReap >= REAP_EVERY_MS || now < this.#lastReap)) {
      this.#lastReap = now;
      steps.push(reapStep(now));
    }
    if (limit > 0) steps.push(claimStep(owner, now, leaseUntil, limit, slots, followers));
    if (steps.length === 0) return [];
    // Settle, promote, reap and claim: one transaction (one commit), sent in one round trip.
    // It commits without waiting for the WAL flush (~2 ms here, and the dispatcher's rounds run
    // one after another): a server crash can lose only the last rounds, whose deliveries then go
    // out again under the same webhook-id (at-least-once), and the first durable commit after a
    // round — any call write — flushes it with its own.
    const out = await pipelinedTx(this.#pool, steps, false);
    return limit > 0 ? claimedFrom(out[out.length - 1]!) : [];
  }

  /** Recording finished attempts: the settle, then the promotion of each settled line's next event (a statement of its own, see queue.ts). */
  #settleSteps(results: AttemptResult[], now: number): Step[] {
    if (results.length === 0) return [];
    return settlesForGood(results) ? [settleStep(results, now), promoteStep(results, now)] : [settleStep(results, now)];
  }

  async recordAttempts(results: AttemptResult[], now: number): Promise<void> {
    if (results.length === 0) return;
    await pipelinedTx(this.#pool, this.#settleSteps(results, now));
  }

  nextDeliveryDue(now: number): Promise<number | null> {
    return deliveries.nextDeliveryDue(this.#pool, now);
  }

  releaseDeliveries(owner: string, _now: number, ids?: string[]): Promise<void> {
    return deliveries.releaseDeliveries(this.#pool, owner, ids);
  }

  getDelivery(accountId: string, id: string): Promise<Delivery | undefined> {
    return deliveries.getDelivery(this.#pool, accountId, id);
  }

  listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
    return deliveries.listDeliveries(this.#pool, accountId, f, limit, after);
  }

  deadDeliveries(accountId: string, f: Pick<DeliveryFilter, 'target_id' | 'call_id'>, limit: number): Promise<string[]> {
    return deliveries.deadDeliveries(this.#pool, accountId, f, limit);
  }

  listAttempts(deliveryIds: string[]): Promise<Attempt[]> {
    return deliveries.listAttempts(this.#pool, deliveryIds);
  }

  recordTestDelivery(d: NewDelivery, status: 'succeeded' | 'dead', attempt: Attempt, now: number): Promise<void> {
    return deliveries.recordTestDelivery(this.#pool, d, status, attempt, now);
  }

  async retryDelivery(accountId: string, id: string, now: number): Promise<boolean> {
    const done = await deliveries.retryDelivery(this.#pool, accountId, id, now);
    if (done) this.#notifier.hint();
    return done;
  }

  // housekeeping

  purge(cutoffs: RetentionCutoffs): Promise<number> {
    return this.#tx((c) => purge(c, cutoffs));
  }

  stats(now: number): Promise<StoreStats> {
    return stats(this.#pool, now);
  }

  // resources

  putResource(r: Resource): Promise<void> {
    return resources.putResource(this.#pool, r);
  }

  getResource(accountId: string, kind: string, id: string): Promise<Resource | undefined> {
    return resources.getResource(this.#pool, accountId, kind, id);
  }

  listResources(accountId: string, kind: string): Promise<Resource[]> {
    return resources.listResources(this.#pool, accountId, kind);
  }

  pageResources(accountId: string, kind: string, limit: number, before: string | null): Promise<Resource[]> {
    return resources.pageResources(this.#pool, accountId, kind, limit, before);
  }

  deleteResource(accountId: string, kind: string, id: string): Promise<boolean> {
    return resources.deleteResource(this.#pool, accountId, kind, id);
  }
}
