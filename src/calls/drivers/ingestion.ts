import type { Call, Outcome } from '../model.ts';
import { applyEvents } from '../state.ts';
import { recordOf, type CallDriver, type DriverRecord } from './driver.ts';

export const INGESTION = 'external';

/** The record of a call built from an external switch's events: the switch drives it; Hookline keeps when it last heard of it. */
export function ingestedRecord(): DriverRecord {
  return { driver: INGESTION, state: null };
}

/** What the driver keeps: when the switch last sent an event of the call (the idle time runs from there). */
interface Heard {
  heard_at: number;
}

/** The switch sent an event of the call at `at` (ingest.ts, with each event it applies). */
export function heardFrom(call: Call, at: number): void {
  recordOf(call).state = { heard_at: at } satisfies Heard;
}

// null on a call stored before the driver kept it: its idle time then runs from its last write
const heardAt = (call: Call): number | null => {
  const h = recordOf(call).state as Partial<Heard> | null;
  return typeof h?.heard_at === 'number' ? h.heard_at : null;
};

/**
 * Calls an external switch reports (SPEC §3). The switch sends the events; the driver only ends
 * a call the switch went silent on, so every call still gets its one call.ended (principle 4).
 */
export function ingestionDriver(idleMs: number): CallDriver {
  // Rounded up to a step of at most a minute (1/240 of the idle time: 60 s of the default 4 h),
  // so the events of a live call rarely move the timer (each move is a write).
  const stepMs = Math.min(60_000, Math.max(1, Math.floor(idleMs / 240)));
  const idleEnd = (heard: number): number => Math.ceil((heard + idleMs) / stepMs) * stepMs;
  return {
    name: INGESTION,
    place() {
      throw new Error('an ingested call is made by its first event, not placed');
    },
    dueAt: (call, now) => (call.status === 'ended' ? null : idleEnd(heardAt(call) ?? now)),
    due(call, now) {
      // The engine plays a claimed timer again on the call re-read after a concurrent write: an
      // event the switch sent meanwhile has moved the idle time on.
      const heard = heardAt(call);
      if (heard !== null && idleEnd(heard) > now) return [];
      const outcome: Outcome = call.answered_at !== null ? 'completed' : 'failed';
      return applyEvents(call, [
        { type: 'call.error', leg: null, data: { message: `no event from the switch for ${Math.round(idleMs / 1000)} s` } },
        { type: 'call.ended', leg: null, data: { outcome } },
      ], now);
    },
    hangup: (call) => [{ type: 'call.ended', leg: null, data: { outcome: call.answered_at !== null ? 'completed' : 'cancelled' } }],
  };
}
