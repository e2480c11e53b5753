import type pg from 'pg';
import type { Account, ApiKeyInfo } from '../contract.ts';
import { rowsOf, type Client } from './sql.ts';

/** Accounts and API keys on PostgreSQL (only key hashes are stored). */
export async function getBootstrapAccount(c: Client): Promise<string | undefined> {
  const rows = await rowsOf(c, 'boot_get', 'SELECT account_id FROM api_keys WHERE bootstrap LIMIT 1');
  return rows[0] ? String(rows[0].account_id) : undefined;
}

/** In the caller's transaction: the default account, and this key as its only bootstrap key. */
export async function setBootstrapKey(c: pg.PoolClient, accountId: string, keyHash: string, now: number): Promise<void> {
  await c.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [accountId, 'default', now]);
  await c.query('DELETE FROM api_keys WHERE bootstrap AND key_hash <> $1', [keyHash]);
  await c.query('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES ($1, $2, TRUE, $3) ON CONFLICT (key_hash) DO NOTHING', [keyHash, accountId, now]);
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

/** The account's next call number (1, 2, 3 …): one upsert, atomic by itself (the row lock orders racing callers). */
export async function nextCallNumber(c: Client, accountId: string): Promise<number> {
  const rows = await rowsOf(c, 'call_number',
    'INSERT INTO call_numbers (account_id, last) VALUES ($1, 1) ON CONFLICT (account_id) DO UPDATE SET last = call_numbers.last + 1 RETURNING last', [accountId]);
  return Number(rows[0]!.last);
}
