import type { Resource } from '../contract.ts';
import { resourceFromRow } from '../rows.ts';
import { countOf, rowsOf, type Client } from './sql.ts';

/**
 * Account-scoped configuration documents on PostgreSQL. Each write is one statement, atomic by
 * itself: no BEGIN/COMMIT around it (two round trips fewer). Target health (last success,
 * failing since, disabled) is written by the queue's settle (queue.ts).
 */
export async function putResource(c: Client, r: Resource): Promise<void> {
  await countOf(c, 'resource_put',
    `INSERT INTO resources (id, account_id, kind, doc, enabled, disabled_reason, created_at, updated_at, last_success_at, failing_since)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, enabled = excluded.enabled, disabled_reason = excluded.disabled_reason,
       updated_at = excluded.updated_at, failing_since = excluded.failing_since`,
    [r.id, r.account_id, r.kind, JSON.stringify(r.doc), r.enabled, r.disabled_reason, r.created_at, r.updated_at, r.last_success_at, r.failing_since]);
}

export async function getResource(c: Client, accountId: string, kind: string, id: string): Promise<Resource | undefined> {
  const rows = await rowsOf(c, 'resource_get', 'SELECT * FROM resources WHERE account_id = $1 AND kind = $2 AND id = $3', [accountId, kind, id]);
  return rows[0] ? resourceFromRow(rows[0]) : undefined;
}

export async function listResources(c: Client, accountId: string, kind: string): Promise<Resource[]> {
  const rows = await rowsOf(c, 'resource_list', 'SELECT * FROM resources WHERE account_id = $1 AND kind = $2 ORDER BY id', [accountId, kind]);
  return rows.map(resourceFromRow);
}

export async function deleteResource(c: Client, accountId: string, kind: string, id: string): Promise<boolean> {
  const n = await countOf(c, 'resource_delete', 'DELETE FROM resources WHERE account_id = $1 AND kind = $2 AND id = $3', [accountId, kind, id]);
  return n > 0;
}

export async function pageResources(c: Client, accountId: string, kind: string, limit: number, before: string | null): Promise<Resource[]> {
  const rows = await rowsOf(c, 'resource_page',
    'SELECT * FROM resources WHERE account_id = $1 AND kind = $2 AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4', [accountId, kind, before, limit]);
  return rows.map(resourceFromRow);
}
