import type { Call, CallEvent } from '../../calls/model.ts';
import type {
  Account, ApiKeyInfo, Attempt, AttemptResult, CallFilter, CallWrite, Claimed, Delivery, DeliveryFilter, NewDelivery,
  IdempotentAnswer, Resource, RetentionCutoffs, Slots, Store, StoreStats, TimerClaim, WriteOutcome,
} from '../contract.ts';
import { loadMigrations } from '../migrations.ts';
import { ReapPolicy } from '../policy.ts';
import * as accounts from './accounts.ts';
import * as calls from './calls.ts';
import { Db } from './db.ts';
import * as deliveries from './deliveries.ts';
import { purge, stats } from './housekeeping.ts';
import { claimDue, guard, loadQueue, writeResults } from './queue.ts';
import { KeptOffers, offerCount, offerKeys, type PackedOffers } from './packed-offers.ts';
import { packResults, type PackedResults } from './packed-results.ts';
import type { Windows } from './entries.ts';
import type { QueueRemote, ResultWriter, SqliteOptions } from './options.ts';
import { Scheduler } from './scheduler.ts';
import * as resources from './resources.ts';
import * as timers from './timers.ts';

export { WAL_BOUND_BYTES, WAL_RESTART_BYTES } from './db.ts';
export type { QueueRemote, ResultWriter, SqliteOptions } from './options.ts';

// ~1.3 KB each (a ~1 KB body), outside the JS heap (packed-offers.ts): at most 32,768
// deliveries and 48 MB of their messages waiting for their first claim. At full speed the API
// thread runs ahead of the sender by 20,000–30,000 deliveries in workload (b); past the bounds
// (a backlog for a target that does not answer, say) the rest are read from the rows at their
// claim, as before.
const FRESH_MAX = 32_768;
const FRESH_MAX_BYTES = 48 * 1024 * 1024;
const OFFER_GRACE_MS = 2_000;

// The hot writes that never refuse (no `Undo`) have nothing to undo alone: they run without a
// savepoint of their own (db.ts WriteOptions), as call writes do. An error half way still
// rolls the whole group commit back and runs each write again in a savepoint.
const NEVER_REFUSED = { undoesItself: true } as const;
// Split mode's results may wait for another write's commit (db.ts LAZY_MS; told once committed).
const LAZY_RESULTS = { undoesItself: true, lazy: true } as const;

/**
 * The embedded store: one `node:sqlite` connection in WAL mode (db.ts), its statements split by
 * concern (accounts, calls, timers, queue, deliveries, resources, housekeeping). Every write goes
 * through the group commit and answers after it; reads run at once on committed data. One
 * process per data directory (SQLite's own lock keeps out others).
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly #db: Db;
  readonly #reap = new ReapPolicy();
  readonly #fed: boolean;
  readonly #remote: QueueRemote | undefined;
  readonly #writeResults: ResultWriter;
  readonly #windows: Partial<Windows> | undefined;
  /** the delivery queue (scheduler.ts), rebuilt from the rows on first use */
  #sched: Scheduler | null = null;
  /** results the queue dropped by a failed commit had applied and not recorded (onCommitFailed) */
  #carried: string[] = [];
  /** the last call number given per account (nextCallNumber) */
  readonly #numbers = new Map<string, number>();
  /** accounts whose last number given waits for its save (nextCallNumber) */
  readonly #numbersUnsaved = new Set<string>();
  /** told of each batch of results this store wrote once it is committed (the live stream, in one thread) */
  onResultsCommitted: ((results: PackedResults) => void) | undefined;
  /** split mode: deliveries the API thread wrote, handed over in memory, not claimed yet (queue.ts claimDue) */
  readonly #fresh = new KeptOffers(FRESH_MAX, FRESH_MAX_BYTES);
  /** who holds which call's timer while its step runs (timers.ts) */
  readonly #timerLeases = new timers.TimerLeases();
  /** results whose commit failed, recorded with the next claim */
  #unsettled: { results: PackedResults; held: string[] }[] = [];
  #onWork: (() => void) | undefined;

  constructor(dataDir: string, opts: SqliteOptions = {}) {
    this.#db = new Db(dataDir, { checkpoints: opts.checkpoints });
    this.#fed = opts.queue === 'fed';
    this.#remote = opts.remote;
    // Fed by another thread's commits, a refill must leave a call alone while its offer may be
    // on its way (Windows offerGraceMs): a message's latency is a thread hop, far below 2 s.
    this.#windows = this.#fed ? { offerGraceMs: OFFER_GRACE_MS, ...opts.windows } : opts.windows;
    this.#writeResults = opts.writeResults
      ?? ((results, held, now) => this.#db.write(() => writeResults(this.#db, results, new Set(held), now), NEVER_REFUSED).then(() => this.onResultsCommitted?.(results)));
    // A failed COMMIT voids what the queue learnt from it: rebuild it from the rows.
    // What it had applied and not yet recorded is carried over: those rows still read as open.
    this.#db.onCommitFailed = () => {
      this.#carried = this.#sched?.unrecorded() ?? [];
      this.#sched = null;
    };
  }

  #queue(): Scheduler {
    if (!this.#sched) {
      // a delivery whose call goes back to the database keeps no offer in memory
      const s = new Scheduler({ windows: this.#windows, onEvict: (id) => this.#fresh.take(id), settling: this.#carried });
      this.#carried = [];
      loadQueue(this.#db, s);
      this.#sched = s;
    }
    return this.#sched;
  }

  /** Writes feed the queue themselves only when this store owns it and nothing else writes. */
  #feed(): Scheduler | null {
    return this.#fed || this.#remote ? null : this.#sched;
  }

  async migrate(): Promise<void> {
    const db = this.#db;
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set(db.all('SELECT version FROM schema_migrations').map((r) => Number(r.version)));
    for (const m of loadMigrations('sqlite')) {
      if (done.has(m.version)) continue;
      db.now(() => {
        db.exec(m.sql);
        db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', m.version, m.name, Date.now());
      });
    }
  }

  async close(): Promise<void> {
    if (this.#unsettled.length > 0) await this.recordAttempts([], Date.now()).catch(() => undefined);
    return this.#db.close();
  }

  /** Told when recorded results made work due (the next events of their calls). */
  async listen(onWork: () => void): Promise<void> {
    this.#onWork = onWork;
  }

  /** One process per data directory: an earlier run's leases are void; its queue is rebuilt. */
  async recoverLeases(): Promise<void> {
    this.#db.now(() => deliveries.recoverLeases(this.#db));
    if (!this.#remote) this.#queue();
  }

  async ping(): Promise<void> {
    this.#db.get('SELECT 1');
  }

  // accounts and keys

  async getBootstrapAccount(): Promise<string | undefined> {
    return accounts.getBootstrapAccount(this.#db);
  }

  setBootstrapKey(accountId: string, keyHash: string, now: number, onlyIfNone = false): Promise<boolean> {
    return this.#db.write(() => accounts.setBootstrapKey(this.#db, accountId, keyHash, now, onlyIfNone));
  }

  createAccount(a: Account, keyHash: string): Promise<void> {
    return this.#db.write(() => accounts.createAccount(this.#db, a, keyHash));
  }

  async findApiKey(keyHash: string): Promise<ApiKeyInfo | undefined> {
    return accounts.findApiKey(this.#db, keyHash);
  }

  // calls

  writeCall(w: CallWrite): Promise<WriteOutcome> {
    return this.#db.write(() => {
      const outcome = calls.writeCall(this.#db, this.#feed(), w);
      // the step is written with the call's new timer: whoever held the old one holds nothing,
      // unless the write leases it to the engine that plays the next step itself
      if (outcome === 'written') this.#timerLeases.written(w.call.id, w.timer_due_at === null ? undefined : w.timer_lease);
      return outcome;
    }, { undoesItself: true });
  }

  async getCall(accountId: string | null, id: string): Promise<Call | undefined> {
    return calls.getCall(this.#db, accountId, id);
  }

  async getCallByExternalId(accountId: string, externalId: string): Promise<Call | undefined> {
    return calls.getCallByExternalId(this.#db, accountId, externalId);
  }

  /**
   * Given out from memory (one process per data directory; in split mode only the API thread
   * makes calls): a write of its own, awaited before the call's write, cost every new call a
   * second group commit. The last number is saved in the next group commit, ahead of the call
   * that carries it; a call refused after taking its number leaves a gap, never a repeat.
   */
  async nextCallNumber(accountId: string): Promise<number> {
    const n = (this.#numbers.get(accountId) ?? accounts.lastCallNumber(this.#db, accountId)) + 1;
    this.#numbers.set(accountId, n);
    // One save per account per group commit, of the last number given by then: it lands in the
    // same commit as the call that took the number, or an earlier one (a save per call was a
    // write and a savepoint per call, ~7 µs each here).
    if (!this.#numbersUnsaved.has(accountId)) {
      this.#numbersUnsaved.add(accountId);
      this.#db.write(() => {
        this.#numbersUnsaved.delete(accountId);
        accounts.saveCallNumber(this.#db, accountId, this.#numbers.get(accountId) ?? n);
      }).catch(() => {
        this.#numbersUnsaved.delete(accountId);
        this.#numbers.delete(accountId);
      });
    }
    return n;
  }

  async listCalls(accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
    return calls.listCalls(this.#db, accountId, f, limit, after);
  }

  async liveCalls(driver: string): Promise<Call[]> {
    return calls.liveCalls(this.#db, driver);
  }

  async listEvents(callIds: string[]): Promise<CallEvent[]> {
    return calls.listEvents(this.#db, callIds);
  }

  async getIdempotent(accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined> {
    return calls.getIdempotent(this.#db, accountId, route, key);
  }

  async getIngested(accountId: string, eventId: string): Promise<string | undefined> {
    return calls.getIngested(this.#db, accountId, eventId);
  }

  // timers

  // Leases in memory, the due times in the rows (timers.ts says why): claims read, never write.

  async claimTimers(owner: string, now: number, leaseUntil: number, limit: number): Promise<TimerClaim[]> {
    return timers.claimTimers(this.#db, this.#timerLeases, owner, now, leaseUntil, limit);
  }

  async nextTimerDue(): Promise<number | null> {
    return timers.nextTimerDue(this.#db, this.#timerLeases);
  }

  async releaseTimers(owner: string): Promise<void> {
    this.#timerLeases.release(owner);
  }

  // deliveries

  claimDeliveries(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, settle: AttemptResult[] = [], followers = 0): Promise<Claimed[]> {
    // A claim writes nothing (the queue is in memory): it is answered at once, and the results
    // go into the next group commit without holding the claim up (under another writer's lock,
    // the dispatcher keeps sending meanwhile). What a failed commit did not record is recorded
    // with the next claim; the next events of the settled calls are due at once (#record).
    // A result that disables its target is committed before the claim answers: the caller
    // reloads the target's settings next, and must find it disabled.
    const claim = (): Claimed[] => claimDue(this.#db, this.#queue(), owner, now, leaseUntil, limit, slots, this.#reap.due(now), this.#fresh, followers);
    if (settle.length === 0 && this.#unsettled.length === 0) return Promise.resolve(claim());
    const recorded = this.#record(settle, now);
    if (settle.some((r) => r.target.disable_reason !== undefined)) return recorded.then(claim);
    // A failed write keeps its results for the next claim (#record); the loop is told either way.
    recorded.then(() => this.#onWork?.(), () => this.#onWork?.());
    return Promise.resolve(claim());
  }

  recordAttempts(settle: AttemptResult[], now: number): Promise<void> {
    return this.#record(settle, now);
  }

  /**
   * The guard and the queue's part now, in memory: the next event of each settled call is due
   * at once. SPEC principle 3 holds — event N+1 goes once N has succeeded or been given up on —
   * and the record of N follows in the next group commit; were the process killed in between,
   * N would be sent again after N+1: a repeat under the same webhook-id, which receivers drop
   * (and the kill tests count as a duplicate, not as disorder). Waiting for that commit made
   * every event of a call wait a thread hop and a commit per event before it (fixed-rate p99
   * 48 ms, 59 ms for a call's fifth event). A write that fails is tried again with the next
   * claim, for the same deliveries.
   */
  #record(results: AttemptResult[], now: number): Promise<void> {
    const batches = this.#unsettled;
    this.#unsettled = [];
    if (results.length > 0) {
      const sched = this.#queue();
      const settled = guard(sched, results);
      for (const x of settled) sched.settle(x, now);
      batches.push({ results: packResults(results), held: settled.map((x) => x.id) });
    }
    if (batches.length === 0) return Promise.resolve();
    const packed = batches.length === 1 ? batches[0]!.results : batches.flatMap((b) => b.results);
    const held = batches.flatMap((b) => b.held);
    return this.#writeResults(packed, held, now).then(
      () => this.#sched?.recorded(held),
      (err: unknown) => {
        this.#unsettled.push(...batches);
        throw err;
      },
    );
  }

  /**
   * Split mode, on the delivery thread: the deliveries the API thread has committed, in
   * commit order, as it wrote them (one message per event-loop turn). The queue learns of them
   * here (a queue built from the rows meanwhile has them already: `add` keeps the first), and
   * their first claim need not read them back: at most FRESH_MAX are kept, past that (a
   * backlog) the rest are read at their claim.
   */
  offer(p: PackedOffers): void {
    const sched = this.#queue();
    let spilled: Set<number> | undefined;
    for (let i = 0, n = offerCount(p); i < n; i++) if (!sched.add(offerKeys(p, i))) (spilled ??= new Set()).add(i);
    this.#fresh.keep(p, spilled);
  }

  /** Split mode, on the API thread: results held by the delivery thread, written here. */
  writeResultsFor(results: PackedResults, held: string[], now: number): Promise<void> {
    return this.#db.write(() => writeResults(this.#db, results, new Set(held), now), LAZY_RESULTS);
  }

  async nextDeliveryDue(now: number): Promise<number | null> {
    return this.#queue().nextDue(now);
  }

  async releaseDeliveries(owner: string, _now: number, ids?: string[]): Promise<void> {
    this.#queue().release(owner, ids);
  }

  async getDelivery(accountId: string, id: string): Promise<Delivery | undefined> {
    if (this.#remote) return this.#remote.getDelivery(accountId, id);
    return deliveries.getDelivery(this.#db, this.#queue(), accountId, id);
  }

  async listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
    if (this.#remote) return this.#remote.listDeliveries(accountId, f, limit, after);
    return deliveries.listDeliveries(this.#db, this.#queue(), accountId, f, limit, after);
  }

  async recordTestDelivery(d: NewDelivery, status: 'succeeded' | 'dead', attempt: Attempt, now: number): Promise<void> {
    return this.#db.write(() => deliveries.recordTestDelivery(this.#db, d, status, attempt, now));
  }

  async listAttempts(deliveryIds: string[]): Promise<Attempt[]> {
    return deliveries.listAttempts(this.#db, deliveryIds);
  }

  async deadDeliveries(accountId: string, f: Pick<DeliveryFilter, 'target_id' | 'call_id'>, limit: number): Promise<string[]> {
    return deliveries.deadDeliveries(this.#db, accountId, f, limit);
  }

  retryDelivery(accountId: string, id: string, now: number): Promise<boolean> {
    if (this.#remote) return this.#remote.retryDelivery(accountId, id, now);
    return this.#db.write(() => deliveries.retryDelivery(this.#db, this.#queue(), accountId, id, now));
  }

  // housekeeping

  purge(cutoffs: RetentionCutoffs): Promise<number> {
    return this.#db.write(() => purge(this.#db, cutoffs));
  }

  async stats(now: number): Promise<StoreStats> {
    if (this.#remote) return this.#remote.stats(now);
    return stats(this.#db, this.#queue(), this.#db.file, now);
  }

  // resources

  putResource(r: Resource): Promise<void> {
    return this.#db.write(() => resources.putResource(this.#db, r));
  }

  async getResource(accountId: string, kind: string, id: string): Promise<Resource | undefined> {
    return resources.getResource(this.#db, accountId, kind, id);
  }

  async listResources(accountId: string, kind: string): Promise<Resource[]> {
    return resources.listResources(this.#db, accountId, kind);
  }

  async pageResources(accountId: string, kind: string, limit: number, before: string | null): Promise<Resource[]> {
    return resources.pageResources(this.#db, accountId, kind, limit, before);
  }

  deleteResource(accountId: string, kind: string, id: string): Promise<boolean> {
    return this.#db.write(() => resources.deleteResource(this.#db, accountId, kind, id));
  }
}
