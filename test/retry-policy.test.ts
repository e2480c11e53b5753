/**
 * SPEC §6: Retry-After is honoured within bounds. It can put a retry later than the schedule (up
 * to an hour), never sooner; a value that is neither delay-seconds nor an HTTP-date is ignored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RETRY_AFTER_MS, nextAttemptAt, parseRetryAfter } from '../src/delivery/retry-policy.ts';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const SCHEDULE = [5_000, 300_000];
const mid = () => 0.5; // no jitter

test('Retry-After: seconds and the three HTTP-date forms are read; anything else is ignored', () => {
  assert.equal(parseRetryAfter('120', NOW), 120_000);
  assert.equal(parseRetryAfter(' 0 ', NOW), 0);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 10:01:00 GMT', NOW), 60_000);
  assert.equal(parseRetryAfter('Thursday, 03-Dec-26 10:01:00 GMT', NOW), 60_000);
  assert.equal(parseRetryAfter('Thu Dec  3 10:01:00 2026', NOW), 60_000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 09:00:00 GMT', NOW), 0, 'a date in the past: now');
  for (const bad of ['1.5', '-5', '0x10', 'soon', '2026-12-03T10:01:00Z', 'Thu, 03 Dec 2026 10:01:00', '']) {
    assert.equal(parseRetryAfter(bad, NOW), null, `"${bad}" is not a Retry-After`);
  }
  assert.equal(parseRetryAfter(undefined, NOW), null);
  assert.equal(parseRetryAfter(['7', '9'], NOW), 7_000);
});

test('Retry-After puts the retry later than the schedule, up to an hour, and never sooner', () => {
  assert.equal(nextAttemptAt(1, SCHEDULE, NOW, null, mid), NOW + 5_000);
  assert.equal(nextAttemptAt(1, SCHEDULE, NOW, 0, mid), NOW + 5_000, 'Retry-After: 0 does not cut the schedule');
  assert.equal(nextAttemptAt(1, SCHEDULE, NOW, 1_000, mid), NOW + 5_000);
  assert.equal(nextAttemptAt(1, SCHEDULE, NOW, 60_000, mid), NOW + 60_000);
  assert.equal(nextAttemptAt(1, SCHEDULE, NOW, 10 * MAX_RETRY_AFTER_MS, mid), NOW + MAX_RETRY_AFTER_MS, 'capped at an hour');
  assert.equal(nextAttemptAt(2, SCHEDULE, NOW, 60_000, mid), NOW + 300_000, 'a later step of the schedule stands');
  assert.equal(nextAttemptAt(3, SCHEDULE, NOW, 60_000, mid), null, 'after the schedule: dead, whatever Retry-After says');
});
