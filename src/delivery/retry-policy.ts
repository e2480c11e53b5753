/**
 * When to try again (SPEC §6). `schedule[i]` is the delay before attempt i + 2; after the last
 * delay the delivery is dead. Jitter of ±10% spreads a burst of failures so their retries do not
 * arrive at a recovering receiver in one wave.
 */
export const JITTER = 0.1;
/** Retry-After is honoured up to one hour; a receiver asking for more gets the hour. */
export const MAX_RETRY_AFTER_MS = 3600_000;

/**
 * `retryAfterMs` (a 429's or 503's Retry-After) can put the retry later than the schedule, up to
 * MAX_RETRY_AFTER_MS, never sooner: "Retry-After: 0" from a receiver answering every attempt
 * would otherwise spend the whole schedule (~3 days by default) in milliseconds.
 */
export function nextAttemptAt(
  attempt: number,
  schedule: readonly number[],
  now: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  if (attempt > schedule.length) return null;
  const scheduled = Math.round(schedule[attempt - 1]! * (1 + JITTER * (2 * random() - 1)));
  if (retryAfterMs === null) return now + scheduled;
  return now + Math.max(scheduled, Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS));
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** The three forms of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, then the obsolete RFC 850 and asctime. */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT|${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4})$`,
);

/**
 * Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or not one
 * of those (ignored, as RFC 9110 asks: `Date.parse` alone takes "1.5" or "-5" for dates of 2001).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!HTTP_DATE.test(v)) return null;
  // asctime has no zone: it is GMT too
  const at = Date.parse(v.endsWith('GMT') ? v : `${v} GMT`);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
