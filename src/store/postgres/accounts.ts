import type pg from 'pg';
import type { Account, ApiKeyInfo } from '../contract.ts';
import { pipelinedTx, rowsOf, type Client } from './sql.ts';

/** Accounts and API keys on PostgreSQL (only key hashes are stored). */
export async function getBootstrapAccount(c: Client): Promise<string | undefined> {
  const rows = await rowsOf(c, 'boot_get', 'SELECT account_id FROM api_keys WHERE bootstrap LIMIT 1');
  return rows[0] ? String(rows[0].account_id) : undefined;
}

// pg_advisory_xact_lock key: "hookline bootstrap" (the migrations and the vacuum use others)
const BOOTSTRAP_LOCK = 0x686c626b;

/**
 * In the caller's transaction: the default account, and this key as its only bootstrap key
 * (with `onlyIfNone`, only if there is none). Under a transaction-scoped advisory lock: two
 * processes that both found no key at their start would both have made one, and the one
 * committed first, already printed in its log, would have been deleted by the other.
 */
export async function setBootstrapKey(c: pg.PoolClient, accountId: string, keyHash: string, now: number, onlyIfNone: boolean): Promise<boolean> {
  // READ COMMITTED whatever the server's default: the check below must see a key committed while it waited for the lock
  await c.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await c.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
  if (onlyIfNone && (await c.query('SELECT 1 FROM api_keys WHERE bootstrap LIMIT 1')).rowCount !== 0) return false;
  await c.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [accountId, 'default', now]);
  await c.query('DELETE FROM api_keys WHERE bootstrap AND key_hash <> $1', [keyHash]);
  await c.query('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES ($1, $2, TRUE, $3) ON CONFLICT (key_hash) DO NOTHING', [keyHash, accountId, now]);
  return true;
}

/** In the caller's transaction. */
export async function createAccount(c: pg.PoolClient, a: Account, keyHash: string): Promise<void> {
  await c.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)', [a.id, a.name, a.created_at]);
  await c.query('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES ($1, $2, FALSE, $3)', [keyHash, a.id, a.created_at]);
}

export async function findApiKey(c: Client, keyHash: string): Promise<ApiKeyInfo | undefined> {
  const rows = await rowsOf(c, 'key_find', 'SELECT account_id, bootstrap FROM api_keys WHERE key_hash = $1', [keyHash]);
  return rows[0] ? { account_id: String(rows[0].account_id), bootstrap: rows[0].bootstrap === true } : undefined;
}

/**
 * The next call numbers (1, 2, 3 …) for a batch of requests (batch.ts), one per element, in
 * order: one upsert per account adds how many it needs, and the account's numbers are handed
 * out in request order. Accounts in byte order, the order their rows are locked in, so two
 * batches cannot deadlock.
 *
 * One statement per batch, committed without waiting for the WAL flush: a number is taken before
 * its call's write, and the account's row is locked until the number's commit. One durable
 * upsert per call made every new call of an account wait for the one before it and its flush
 * (~2 ms here): ~500 calls a second at most, and ingestion fell from ~4,500 to ~2,100 events/s.
 * A number whose commit a server crash loses was used by no durable call write (that write's
 * flush would have flushed the number too), so giving it again is safe.
 */
export async function nextCallNumbers(pool: pg.Pool, accountIds: string[]): Promise<number[]> {
  const need = new Map<string, number>();
  for (const a of accountIds) need.set(a, (need.get(a) ?? 0) + 1);
  const accts = [...need.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const [rows] = await pipelinedTx(pool, [{
    name: 'call_numbers',
    text: `INSERT INTO call_numbers (account_id, last)
       SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(account_id, n)
       ON CONFLICT (account_id) DO UPDATE SET last = call_numbers.last + excluded.last
       RETURNING account_id, last`,
    values: [accts, accts.map((a) => need.get(a)!)],
  }], false);
  // The batch's numbers of an account are last - n + 1 … last.
  const next = new Map(rows!.map((r) => [String(r.account_id), Number(r.last) - need.get(String(r.account_id))! + 1]));
  return accountIds.map((a) => {
    const n = next.get(a)!;
    next.set(a, n + 1);
    return n;
  });
}
