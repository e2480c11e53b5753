/**
 * When to try again (SPEC §6). `schedule[i]` is the delay before attempt i + 2; after the last
 * delay the delivery is dead. Jitter of ±10% spreads a burst of failures so their retries do not
 * arrive at a recovering receiver in one wave.
 */
export const JITTER = 0.1;
/** Retry-After is honoured up to one hour; a receiver asking for more gets the hour. */
export const MAX_RETRY_AFTER_MS = 3600_000;

export function nextAttemptAt(
  attempt: number,
  schedule: readonly number[],
  now: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  if (attempt > schedule.length) return null;
  if (retryAfterMs !== null) return now + Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS);
  const base = schedule[attempt - 1]!;
  return now + Math.round(base * (1 + JITTER * (2 * random() - 1)));
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
