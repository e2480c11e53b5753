import type { Resource } from '../contract.ts';
import { resourceFromRow } from '../rows.ts';
import type { Sql } from './db.ts';

/** Account-scoped configuration documents: endpoints, profiles, webhooks, subscriptions… */

export function putResource(db: Sql, r: Resource): void {
  db.run(
    `INSERT INTO resources (id, account_id, kind, doc, enabled, disabled_reason, created_at, updated_at, last_success_at, failing_since)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, enabled = excluded.enabled, disabled_reason = excluded.disabled_reason,
       updated_at = excluded.updated_at, failing_since = excluded.failing_since`,
    r.id, r.account_id, r.kind, JSON.stringify(r.doc), r.enabled ? 1 : 0, r.disabled_reason, r.created_at, r.updated_at, r.last_success_at, r.failing_since,
  );
}

export function getResource(db: Sql, accountId: string, kind: string, id: string): Resource | undefined {
  const row = db.get('SELECT * FROM resources WHERE account_id = ? AND kind = ? AND id = ?', accountId, kind, id);
  return row ? resourceFromRow(row) : undefined;
}

export function listResources(db: Sql, accountId: string, kind: string): Resource[] {
  return db.all('SELECT * FROM resources WHERE account_id = ? AND kind = ? ORDER BY id', accountId, kind).map(resourceFromRow);
}

export function deleteResource(db: Sql, accountId: string, kind: string, id: string): boolean {
  return db.run('DELETE FROM resources WHERE account_id = ? AND kind = ? AND id = ?', accountId, kind, id) > 0;
}

export function pageResources(db: Sql, accountId: string, kind: string, limit: number, before: string | null): Resource[] {
  return db.all('SELECT * FROM resources WHERE account_id = ? AND kind = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?',
    accountId, kind, before, before, limit).map(resourceFromRow);
}
