import type { Account, ApiKeyInfo } from '../contract.ts';
import type { Sql } from './db.ts';

/** Accounts and API keys (only a key's hash is stored). */

export function getBootstrapAccount(db: Sql): string | undefined {
  const row = db.get('SELECT account_id FROM api_keys WHERE bootstrap = 1 LIMIT 1');
  return row ? String(row.account_id) : undefined;
}

/** In a write of its own (one process per data directory: nothing else writes meanwhile). */
export function setBootstrapKey(db: Sql, accountId: string, keyHash: string, now: number, onlyIfNone: boolean): boolean {
  if (onlyIfNone && getBootstrapAccount(db) !== undefined) return false;
  db.run('INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', accountId, 'default', now);
  db.run('DELETE FROM api_keys WHERE bootstrap = 1 AND key_hash <> ?', keyHash);
  db.run('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES (?, ?, 1, ?) ON CONFLICT (key_hash) DO NOTHING', keyHash, accountId, now);
  return true;
}

export function createAccount(db: Sql, a: Account, keyHash: string): void {
  db.run('INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)', a.id, a.name, a.created_at);
  db.run('INSERT INTO api_keys (key_hash, account_id, bootstrap, created_at) VALUES (?, ?, 0, ?)', keyHash, a.id, a.created_at);
}

export function findApiKey(db: Sql, keyHash: string): ApiKeyInfo | undefined {
  const row = db.get('SELECT account_id, bootstrap FROM api_keys WHERE key_hash = ?', keyHash);
  return row ? { account_id: String(row.account_id), bootstrap: row.bootstrap === 1 } : undefined;
}

/** The last call number the account gave (0 before its first call). */
export function lastCallNumber(db: Sql, accountId: string): number {
  return Number(db.get('SELECT last FROM call_numbers WHERE account_id = ?', accountId)?.last ?? 0);
}

/** Saves the last number given; never moves it back. */
export function saveCallNumber(db: Sql, accountId: string, last: number): void {
  db.run('INSERT INTO call_numbers (account_id, last) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET last = MAX(last, excluded.last)', accountId, last);
}
