/** `YYYY-MM-DD HH:mm:ss` in UTC, the date format of seeds 001 and 003; '' when unknown. */
export function sqlTime(ms: number | null): string {
  if (ms === null) return '';
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Unix seconds, as seed 004's `timestamp_utc`. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
