import { HooklineError } from '../errors.ts';

/** Cursor pagination: ids sort by creation, so the cursor is the last id of the page. */
export async function page<T extends { id: string }>(
  limit: number,
  fetch: (limit: number) => Promise<T[]>,
): Promise<{ rows: T[]; next_cursor: string | null }> {
  const rows = await fetch(limit + 1);
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, next_cursor: more ? rows[rows.length - 1]!.id : null };
}

/**
 * The cursor a list was given, or null for the first page. A cursor is valid when it has the
 * shape of an id of the kind listed (`shape`); anything else is 400 `invalid_cursor` rather than
 * a silent first page, which a client walking pages would take for the start again. An empty
 * `cursor=` counts as none.
 */
export function cursorOf(cursor: string | undefined, shape: RegExp): string | null {
  if (cursor === undefined || cursor === '') return null;
  if (!shape.test(cursor)) {
    const message = 'query.cursor is not a next_cursor of this list; pass next_cursor exactly as it was answered';
    throw new HooklineError('invalid_cursor', message, { field: 'query.cursor', errors: [{ field: 'query.cursor', code: 'invalid_cursor', message }] });
  }
  return cursor;
}
