import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Row } from '../rows.ts';
import { lockDataDir } from './dir-lock.ts';
import { CACHE_SPILL_PAGES, COMMIT_SPACING_MS, LAZY_MS, PAGE_SIZE, WAL_BOUND_BYTES, WAL_RESTART_BYTES, WRITER_CACHE_KIB } from './tuning.ts';

export { PAGE_SIZE, WAL_BOUND_BYTES, WAL_RESTART_BYTES } from './tuning.ts';

export type Param = string | number | null;

/** The statement runners every concern module of the SQLite store is written against. */
export interface Sql {
  run(sql: string, ...params: Param[]): number;
  /** an INSERT of one row: its rowid (an INTEGER PRIMARY KEY's value) */
  insert(sql: string, ...params: Param[]): number;
  all(sql: string, ...params: Param[]): Row[];
  /** rows one at a time (a large result is never held whole) */
  each(sql: string, ...params: Param[]): Iterable<Row>;
  get(sql: string, ...params: Param[]): Row | undefined;
}

// Another writer holds the lock: look again this soon (a group commit holds it ~1–5 ms).
const BUSY_RETRY_MS = 1;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
// SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, …).
const isBusy = (err: unknown): boolean => ((err as { errcode?: number })?.errcode ?? 0) % 256 === 5;
// Statements other than a group commit's BEGIN wait this long for a lock (rare in WAL mode).
const READ_BUSY_MS = 1000;

export interface DbOptions {
  /**
   * Whether this connection runs the WAL checkpointer (checkpointer.ts). One per database file
   * is enough: split mode's delivery thread, which hardly writes, leaves it to the API thread's
   * connection (with one each, two threads polled and copied the same WAL: 2.4 and 3.1 s of CPU
   * in one bench run).
   */
  checkpoints?: boolean;
}

/**
 * Thrown inside a write to undo that write alone and answer `value`. A write queued with
 * `undoesItself` must have undone its own changes before it throws this (it runs without a
 * SAVEPOINT of its own).
 */
export class Undo<T> extends Error {
  readonly value: T;
  constructor(value: T) {
    super('undone');
    this.value = value;
  }
}

export interface WriteOptions {
  /**
   * The write leaves nothing behind when it is refused: it has nothing to undo at its refusal
   * points, or deletes what it inserted before it throws `Undo`. It then runs without a
   * SAVEPOINT of its own. Why: SQLite copies every page a savepoint touches into the statement
   * journal first, and each savepoint starts that afresh; for the ingestion's call writes (200 a
   * group commit in workload (b), ~17 pages each) that was ~4 % of the writing thread (perf).
   */
  undoesItself?: boolean;
  /**
   * Nobody waits for this write but its own caller, who does not mind a few ms: it joins the
   * next group commit that another write makes, or one of its own LAZY_MS later.
   */
  lazy?: boolean;
}

interface Pending {
  fn: () => unknown;
  /** runs without a savepoint (WriteOptions.undoesItself), until a failure makes it run with one */
  bare: boolean;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * One `node:sqlite` connection in WAL mode, with group commit.
 *
 * Every write is queued and run at the end of the event-loop turn, together with every other
 * write queued in that turn, in ONE transaction: API requests, ingested events, engine steps
 * and the dispatcher's claim all share a commit (issue 10: one write transaction per step was
 * the bottleneck — each commit appends every page it touched to the WAL). Each write runs in a
 * SAVEPOINT, so one that is refused or fails is undone alone (or undoes itself: WriteOptions).
 * A write's promise settles only after the COMMIT that holds it: an API answer is never sent
 * before its writes are durable.
 *
 * Reads run at once. The flush is synchronous from BEGIN to COMMIT, so no read ever sees a
 * transaction half done.
 */
export class Db implements Sql {
  readonly file: string | null;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  readonly #checkpointer: Worker | undefined;
  #queue: Pending[] = [];
  /** when the next flush is due (performance.now()), and its handle; Infinity: none scheduled */
  #flushAt = Infinity;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** performance.now() at the end of the last group commit, and how many writes it held (COMMIT_SPACING_MS) */
  #lastCommit = -Infinity;
  #lastBatch = 0;
  /** a read transaction of #read is open */
  #reading = false;
  /** told when a COMMIT fails: what was kept in memory about that transaction is void */
  onCommitFailed: () => void = () => undefined;
  /** gives the data directory back (dir-lock.ts) */
  #unlock: () => void = () => undefined;

  constructor(dataDir: string, opts: DbOptions = {}) {
    let file: string | null = null;
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true });
      this.#unlock = lockDataDir(dataDir);
      file = path.join(dataDir, 'hookline.db');
    }
    this.file = file;
    this.#db = new DatabaseSync(file ?? ':memory:');
    // WAL lets readers run beside the writer. synchronous=NORMAL: a commit survives a process
    // crash (kill -9), which is what SPEC principle 1 names; only an OS crash or power loss can
    // lose the last transactions. FULL costs an fsync per commit (~2 ms here) on the hot path.
    // A group commit's BEGIN does not wait for the lock (see #begin); other statements may, briefly.
    // temp_store = MEMORY: each group-committed write runs in a SAVEPOINT, and SQLite copies
    // every page a savepoint touches into a statement journal first — a temporary FILE by
    // default: two pwrite calls per page, ~17 pages per ingested event (strace: 35 pwrites per
    // event). In memory the same store work took 85–98 µs of CPU per event instead of 177–199.
    // before anything creates the file's first page: ignored for an existing database
    this.#db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
    this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = ${READ_BUSY_MS}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;`);
    // Pages read through a memory map, not pread: the 2 MB page cache misses on the indexes a
    // batch of new calls touches (and a connection's cache is dropped when another one restarts
    // the WAL). perf in (b): pread 4.2 % of the API thread, plus its kernel entry; with the map,
    // (b)'s API thread −12 µs of CPU a delivery (bench/ab.ts, three pairs; (a) within the
    // noise). 1 GiB of address space, not of memory: mapped pages are the OS's file cache, but
    // they count in the process's RSS once touched. So only the writing connection maps: split
    // mode's delivery thread reads a whole backlog at start (queue.ts loadQueue), and mapped,
    // those pages would stay in RSS (issue 10 item 5 bounds RSS with a 100,000 backlog).
    // The writing connection (the one that also runs the checkpoints; split mode's delivery
    // thread only reads) spills no dirty page before it holds 64 MB of them: a group commit of
    // a 1,000-event batch dirties ~2,000 pages (8 MB), and past the 2 MB cache SQLite spilled
    // them to the WAL mid-transaction (journalling each one first) and wrote them again at
    // COMMIT: 6.4 % of the writing thread in a bench profile (perf: pagerStress). A 32 MB cache
    // stopped the spills too, but every COMMIT then walked its larger hash table
    // (pcache1TruncateUnsafe: 1.4 % of all samples, 0.2 with this), and a reader's filled up
    // rebuilding a large queue. A transaction past 64 MB (a migration) still spills.
    if (opts.checkpoints !== false) this.#db.exec(`PRAGMA mmap_size = 1073741824; PRAGMA cache_spill = ${CACHE_SPILL_PAGES}; PRAGMA cache_size = -${WRITER_CACHE_KIB}`);
    if (file !== null) {
      // What a killed run left in the WAL is copied back now, before anything runs, and the file
      // truncated: a start never inherits a large log. Checkpoints then run in a worker thread
      // (checkpointer.ts), never on the event loop.
      this.#db.exec(`PRAGMA journal_size_limit = ${WAL_BOUND_BYTES}; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 0`);
      if (opts.checkpoints !== false) this.#checkpointer = new Worker(new URL('./checkpointer.ts', import.meta.url), { workerData: { file, restartBytes: WAL_RESTART_BYTES, limitBytes: WAL_BOUND_BYTES } });
      // The worker must not keep a finished process alive, nor its failure go unseen: without
      // it SQLite's own checkpoints take over (on the event loop: slower, still bounded).
      this.#checkpointer?.unref();
      this.#checkpointer?.on('error', () => this.#db.isOpen && this.#db.exec('PRAGMA wal_autocheckpoint = 1000'));
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

  all(sql: string, ...params: Param[]): Row[] {
    this.#read();
    return this.#q(sql).all(...params) as Row[];
  }

  each(sql: string, ...params: Param[]): Iterable<Row> {
    this.#endRead();
    return this.#q(sql).iterate(...params) as Iterable<Row>;
  }

  get(sql: string, ...params: Param[]): Row | undefined {
    this.#read();
    return this.#q(sql).get(...params) as Row | undefined;
  }

  run(sql: string, ...params: Param[]): number {
    this.#endRead();
    return Number(this.#q(sql).run(...params).changes);
  }

  insert(sql: string, ...params: Param[]): number {
    this.#endRead();
    return Number(this.#q(sql).run(...params).lastInsertRowid);
  }

  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  /**
   * A statement without parameters, prepared once: the group commit runs BEGIN, COMMIT and a
   * SAVEPOINT and RELEASE per write; exec() would parse each of them every time.
   */
  #x(sql: string): void {
    this.#q(sql).run();
  }

  exec(sql: string): void {
    this.#endRead();
    this.#db.exec(sql);
  }

  /**
   * Reads outside a transaction made in one run of JavaScript (a batch's 200 call lookups) share
   * one read transaction, ended by a microtask: each alone took and released the WAL read lock,
   * two fcntl calls (perf in (b): ~18,000 of the API thread's ~50,000 system calls in 4 s).
   */
  #read(): void {
    if (this.#reading || this.#db.isTransaction) return;
    this.#x('BEGIN');
    this.#reading = true;
    queueMicrotask(() => this.#endRead());
  }

  #endRead(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#x('COMMIT');
  }

  /**
   * BEGIN IMMEDIATE without waiting: a write that finds the lock taken (the checkpointer's
   * RESTART, or the other connection in split mode) is tried again on a later turn, instead of
   * sleeping in SQLite's busy handler, which would stop this thread's event loop.
   */
  #begin(): void {
    this.#endRead();
    this.#x('PRAGMA busy_timeout = 0');
    try {
      this.#x('BEGIN IMMEDIATE');
    } finally {
      this.#x(`PRAGMA busy_timeout = ${READ_BUSY_MS}`);
    }
  }

  /** A transaction of its own, run now (migrations, start-up): waits up to 5 s for the lock. */
  now<T>(fn: () => T): T {
    for (let waited = 0; ; waited += 2) {
      try {
        this.#begin();
        break;
      } catch (err) {
        if (!isBusy(err) || waited >= 5000) throw err;
        Atomics.wait(PAUSE, 0, 0, 2);
      }
    }
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /**
   * Queues a write for this turn's group commit; answers what `fn` answered once it is
   * committed, or the value of an `Undo` it threw (its writes undone, the others' kept).
   */
  write<T>(fn: () => T, opts: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, bare: opts.undoesItself === true, resolve: resolve as (v: unknown) => void, reject });
      const spacing = this.#lastBatch > 1 ? this.#lastCommit + COMMIT_SPACING_MS - performance.now() : 0;
      this.#schedule(Math.max(spacing, opts.lazy === true ? LAZY_MS : 0));
    });
  }

  /** The next flush in `delayMs` (0: next turn), unless one is due sooner already. */
  #schedule(delayMs: number): void {
    const at = performance.now() + delayMs;
    if (this.#flushAt <= at) return;
    this.#unschedule();
    this.#flushAt = at;
    if (delayMs > 0) this.#timer = setTimeout(() => this.#flush(), delayMs);
    else this.#immediate = setImmediate(() => this.#flush());
  }

  /** Puts a batch back at the head of the queue, to be flushed after `delayMs` (0: next turn). */
  #again(batch: Pending[], delayMs: number): void {
    this.#queue = batch.concat(this.#queue);
    this.#schedule(delayMs);
  }

  /** Drops the flush scheduled, if any. */
  #unschedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
    this.#flushAt = Infinity;
  }

  #flush(): void {
    this.#unschedule();
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.#begin();
    } catch (err) {
      if (isBusy(err)) {
        // Someone else writes: this batch (and what joins it meanwhile) goes at the next try.
        this.#again(batch, BUSY_RETRY_MS);
        return;
      }
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) {
      if (!p.bare) this.#x('SAVEPOINT w');
      try {
        const value = p.fn();
        if (!p.bare) this.#x('RELEASE w');
        outcomes.push({ ok: true, value });
      } catch (err) {
        if (p.bare && !(err instanceof Undo)) {
          // Failed half way with no savepoint to go back to: this transaction cannot be
          // trusted. It is undone whole, what memory learnt from it is void, and its writes run
          // again at once, each in a savepoint (the one at fault then fails alone).
          if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
          this.onCommitFailed();
          for (const q of batch) q.bare = false;
          this.#again(batch, 0);
          return;
        }
        if (!p.bare) {
          this.#x('ROLLBACK TO w');
          this.#x('RELEASE w');
        }
        outcomes.push(err instanceof Undo ? { ok: true, value: err.value } : { ok: false, value: err });
      }
    }
    try {
      this.#x('COMMIT');
      this.#lastCommit = performance.now();
      this.#lastBatch = batch.length;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.onCommitFailed();
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => (outcomes[i]!.ok ? p.resolve(outcomes[i]!.value) : p.reject(outcomes[i]!.value)));
  }

  async close(): Promise<void> {
    this.#endRead();
    // Writes queued before the close still land.
    if (this.#queue.length > 0) this.#flush();
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
    this.#unlock();
  }
}
