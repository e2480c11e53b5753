import { createRequire } from 'node:module';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { Row } from '../rows.ts';

/**
 * A transaction's statements as ONE protocol exchange: for each statement Bind, Describe and
 * Execute (Parse too the first time a connection sees it), then a single Sync. The server runs
 * everything before a Sync as one implicit transaction and commits it at the Sync; if a
 * statement fails it skips the rest up to the Sync and rolls back. Each statement still takes
 * its own snapshot (READ COMMITTED takes one per statement), so a later one sees what the
 * earlier ones wrote and what other transactions committed meanwhile.
 *
 * Why: pg sends every query with a Sync of its own, and the server answers each Sync with
 * ReadyForQuery and a flush of its socket — a send() that wakes this process. A dispatcher
 * round went out as BEGIN + SET, settle, promotion, claim, COMMIT: five Syncs, five sends from
 * the server, four of them statements of no use (BEGIN, SET, COMMIT). On this VM a socket write
 * that wakes the other side costs ~100 µs of CPU (--cpu-prof of the PostgreSQL bench's fixed
 * rate: `writev` a fifth of the worker's busy time), and the server answered ~2,000 Syncs a
 * second at 500 events/s.
 *
 * The messages are serialized before anything is written (pg-protocol, as pg does), so a value
 * that cannot be sent fails the call with nothing on the wire — never a half batch committed.
 */

// pg's own mapping of JavaScript values to parameters (arrays to literals, Dates, Buffers…)
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

export interface Statement {
  name: string;
  text: string;
  values: unknown[];
}

/** The part of pg's Connection this uses (pg keeps prepared statements' names per connection). */
interface Wire {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { write(b: Buffer): boolean };
}

interface Field {
  name: string;
  dataTypeID: number;
}

/**
 * A custom query for pg: the client routes the exchange's answers to it until the
 * ReadyForQuery. A subclass of pg's Query, as pg's pipeline mode accepts no other kind.
 */
export class OneSync extends pg.Query {
  readonly done: Promise<Row[][]>;
  /** whether the batch holds a Parse: after a failure we cannot tell which ones the server kept */
  readonly parses: boolean;
  readonly #wire: Wire;
  readonly #message: Buffer;
  readonly #parsed: Statement[];
  readonly #results: Row[][] = [];
  #rows: Row[] = [];
  #names: string[] = [];
  #parsers: ((v: string) => unknown)[] = [];
  #failed = false;
  #resolve!: (rows: Row[][]) => void;
  #reject!: (err: unknown) => void;

  constructor(client: pg.PoolClient, statements: Statement[]) {
    super({ text: 'one-sync' });
    this.#wire = (client as unknown as { connection: Wire }).connection;
    const known = (s: Statement): boolean => {
      const had = this.#wire.parsedStatements[s.name] ?? this.#wire.submittedNamedStatements[s.name];
      // as pg's own queries: one name, one text (the server would refuse a second Parse of it)
      if (had !== undefined && had !== s.text) throw new Error(`Prepared statements must be unique - '${s.name}' was used for a different statement`);
      return had !== undefined;
    };
    // Within the batch too: one name, one text; a name new to the connection is parsed once, at
    // its first statement (a second Parse of it would be refused, 42P05).
    const texts = new Map<string, string>();
    const parseAt = new Set<number>();
    statements.forEach((s, i) => {
      const had = texts.get(s.name);
      if (had !== undefined && had !== s.text) throw new Error(`Prepared statements must be unique - '${s.name}' was used for a different statement`);
      if (had === undefined && !known(s)) parseAt.add(i);
      texts.set(s.name, s.text);
    });
    this.#parsed = [...parseAt].map((i) => statements[i]!);
    this.parses = this.#parsed.length > 0;
    const parts: Buffer[] = [];
    for (const [i, s] of statements.entries()) {
      if (parseAt.has(i)) parts.push(serialize.parse({ name: s.name, text: s.text, types: [] }));
      parts.push(
        serialize.bind({ portal: '', statement: s.name, values: s.values, binary: false, valueMapper: prepareValue as never }),
        serialize.describe({ type: 'P', name: '' }),
        serialize.execute({ portal: '', rows: 0 }),
      );
    }
    parts.push(serialize.sync());
    this.#message = Buffer.concat(parts);
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  override submit = (): void => {
    for (const s of this.#parsed) this.#wire.submittedNamedStatements[s.name] = s.text;
    this.#wire.stream.write(this.#message);
  };

  handleRowDescription(msg: { fields: Field[] }): void {
    this.#names = msg.fields.map((f) => f.name);
    this.#parsers = msg.fields.map((f) => pg.types.getTypeParser(f.dataTypeID, 'text') as (v: string) => unknown);
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    const row: Row = {};
    for (let i = 0; i < this.#names.length; i++) {
      const v = msg.fields[i];
      row[this.#names[i]!] = v === null || v === undefined ? null : this.#parsers[i]!(v);
    }
    this.#rows.push(row);
  }

  handleCommandComplete(): void {
    this.#results.push(this.#rows);
    this.#rows = [];
  }

  handleEmptyQuery(): void {
    this.handleCommandComplete();
  }

  handleError(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    for (const s of this.#parsed) delete this.#wire.submittedNamedStatements[s.name];
    this.#reject(err);
  }

  handleReadyForQuery(): void {
    if (this.#failed) return;
    for (const s of this.#parsed) {
      this.#wire.parsedStatements[s.name] = s.text;
      delete this.#wire.submittedNamedStatements[s.name];
    }
    this.#resolve(this.#results);
  }

  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void {
    connection.sendCopyFail('no COPY here');
  }
  handleCopyData(): void {}
}

/**
 * A statement the server refused (an ErrorResponse of severity ERROR): the session lives on and
 * the connection may be reused. Not a FATAL or PANIC one (pg_terminate_backend, a shutdown):
 * the server closes the session after it, and a connection given back to the pool before the
 * socket's close is seen would fail its next user. A server whose messages are translated
 * (lc_messages) names ERROR otherwise: its refusals then cost a connection, never a dead one reused.
 */
export const isRefusal = (err: unknown): boolean => err instanceof Error && (err as { severity?: unknown }).severity === 'ERROR';
