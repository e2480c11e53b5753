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
