import type { ResultNews } from '../../events.ts';
import type { AttemptResult } from '../contract.ts';

/**
 * A batch of attempt results as the SQLite store writes them and as split mode sends them from
 * the delivery thread to the writing thread: one flat array, FIELDS values per result, the
 * attempt's request (as the dispatcher rendered it) and response headers as the JSON the rows hold.
 *
 * Why: a postMessage of AttemptResult objects serializes every key of every nested object
 * (~40 per result) and rebuilds them all on the other side, only for them to be turned into
 * JSON and SQL parameters there. Measured with node:v8 serialize/deserialize (the same
 * serializer), 64 results: 5.4 µs a result as objects, 3.3 as this array including the two
 * JSON.stringify calls that the writing thread no longer makes.
 */
export type PackedResults = (string | number | boolean | null)[];

export const FIELDS = 18;

// Offsets within one result.
export const F = {
  delivery_id: 0, attempt: 1, started_at: 2, duration_ms: 3, status_code: 4, error: 5, request_head: 6, response_headers: 7,
  response_excerpt: 8, status: 9, next_attempt_at: 10, call_id: 11, format: 12, target_id: 13, account_id: 14, success: 15,
  disable_reason: 16, request_tail: 17,
} as const;

export function packResults(results: readonly AttemptResult[]): PackedResults {
  // sized once: pushed, the array grew (and was copied) a dozen times for a batch of 128
  const into: PackedResults = new Array(results.length * FIELDS);
  let o = 0;
  for (const r of results) {
    const a = r.attempt;
    into[o++] = a.delivery_id;
    into[o++] = a.attempt;
    into[o++] = a.started_at;
    into[o++] = a.duration_ms;
    into[o++] = a.status_code;
    into[o++] = a.error;
    // the head: one string for a target's attempts (AttemptRecord), joined with the tail where the row is written
    into[o++] = a.request_head;
    into[o++] = a.response_headers === null ? null : JSON.stringify(a.response_headers);
    into[o++] = a.response_excerpt;
    into[o++] = r.status;
    into[o++] = r.next_attempt_at;
    into[o++] = r.call_id;
    into[o++] = r.format;
    into[o++] = r.target.id;
    into[o++] = r.target.account_id;
    into[o++] = r.target.success;
    into[o++] = r.target.disable_reason ?? null;
    into[o++] = a.request_tail;
  }
  return into;
}

/** What the event stream tells of each result (split mode publishes it on the writing thread). */
export function resultNews(p: PackedResults): ResultNews[] {
  const out: ResultNews[] = [];
  for (let o = 0; o < p.length; o += FIELDS) {
    out.push({
      account_id: p[o + F.account_id] as string, call_id: p[o + F.call_id] as string, delivery_id: p[o + F.delivery_id] as string,
      format: p[o + F.format] as string, target_id: p[o + F.target_id] as string, status: p[o + F.status] as AttemptResult['status'],
      attempt: p[o + F.attempt] as number, started_at: p[o + F.started_at] as number, status_code: p[o + F.status_code] as number | null,
      error: p[o + F.error] as string | null, duration_ms: p[o + F.duration_ms] as number, next_attempt_at: p[o + F.next_attempt_at] as number,
    });
  }
  return out;
}
