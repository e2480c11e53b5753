/** The canonical call model of SPEC §2. Every format is rendered from these types. */

export const CALL_KINDS = ['outbound', 'click_to_call', 'inbound'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

export const DIRECTIONS = ['outbound', 'inbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const EVENT_TYPES = [
  'call.accepted',
  'leg.initiated',
  'leg.ringing',
  'leg.answered',
  'call.transcript',
  'call.error',
  'call.ended',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const OUTCOMES = ['completed', 'no-answer', 'busy', 'failed', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const CALL_STATUSES = ['accepted', 'initiated', 'ringing', 'answered', 'ended'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const LEG_STATUSES = ['pending', 'initiated', 'ringing', 'answered', 'ended'] as const;
export type LegStatus = (typeof LEG_STATUSES)[number];

/** A one-leg call's leg is `main`; a click-to-call has `from` (channel 1) and `to` (channel 2). */
export type LegName = string;

export interface Leg {
  name: LegName;
  /** The number this leg dials (or, inbound, the number that called). */
  number: string;
  status: LegStatus;
  initiated_at: number | null;
  /** when an endpoint started ringing: seed 003 tells IVR from NO ANSWER by it */
  ringing_at: number | null;
  answered_at: number | null;
  ended_at: number | null;
  outcome: Outcome | null;
}

export interface TranscriptLine {
  type: string;
  message: string;
  /** ms since the epoch */
  at: number;
}

/** Seed 003 data on an inbound call, rendered by the call-tracking format. */
export interface Tracking {
  property_sid: string;
  number?: { type?: 'Static' | 'Dynamic'; name?: string };
  caller?: { country?: string; region?: string; city?: string };
  attribution?: { source?: string; medium?: string; campaign?: string; content?: string };
  session?: { traffic_type?: string; keywords?: string; conversion_uri?: string; landing_uri?: string; custom_dimension1?: string };
  google?: { analytics_client_id?: string; adwords_click_id?: string };
  survey?: { type?: string; value?: number; custom1?: string; custom2?: string; custom3?: string; unique_code?: string };
  prompts?: { postcode?: string; keys?: string };
  endpoint?: string;
}

/** The first leg (dialled first) and the leg that answered first: where per-call formats without legs look. */
export function firstLeg(call: Call): Leg | undefined {
  return call.legs[0];
}

export function firstAnsweredLeg(call: Call): Leg | undefined {
  let best: Leg | undefined;
  for (const l of call.legs) if (l.answered_at !== null && (best === undefined || l.answered_at < best.answered_at!)) best = l;
  return best;
}

export interface Call {
  id: string;
  /** per account: 1, 2, 3 … (seed 004's integer call id); null on calls stored before it existed */
  number: number | null;
  account_id: string;
  kind: CallKind;
  direction: Direction;
  from: string;
  to: string;
  bridge: string | null;
  channel_id: string | null;
  flow_id: string | number | null;
  source: string | null;
  status: CallStatus;
  outcome: Outcome | null;
  created_at: number;
  started_at: number | null;
  answered_at: number | null;
  ended_at: number | null;
  /** seconds of answered time */
  duration: number;
  recording_url: string | null;
  transcript: TranscriptLine[];
  tracking: Tracking | null;
  metadata: Record<string, unknown> | null;
  legs: Leg[];
  error_message: string | null;
  /** the far end's id of the call: an external switch's call id */
  external_id: string | null;
  webhook_id: string | null;
  /** The seed-000 `callback` parameter, normalised (lower-case keys). */
  callback: Record<string, { callback_profile: string[]; url: string[] }> | null;
  /**
   * The driver that makes this call happen and its own state (calls/drivers/driver.ts), opaque
   * here; null only on a call stored before drivers kept records (read with `recordOf`).
   */
  driver_state: { driver: string; state: unknown; legs?: Record<string, Record<string, unknown>> } | null;
  /** seq of the last event; the next event gets last_seq + 1 */
  last_seq: number;
  /** optimistic concurrency: bumped by every write */
  version: number;
}

export interface CallEvent {
  call_id: string;
  account_id: string;
  seq: number;
  type: EventType;
  leg: LegName | null;
  occurred_at: number;
  data: EventData;
}

export interface EventData {
  outcome?: Outcome;
  message?: string;
  /** transcript speaker */
  speaker?: string;
  recording_url?: string;
}

/** An event before it has a seq. */
export interface NewEvent {
  type: EventType;
  leg: LegName | null;
  data: EventData;
}

export function legOf(call: Call, name: LegName): Leg | undefined {
  return call.legs.find((l) => l.name === name);
}

// A call's few timestamps are formatted again for every event and every target (~10 per
// rendered body: 2 % of Hookline's CPU at full speed); the recent ones are remembered.
const ISO_CACHE_MAX = 4096;
const isoCache = new Map<number, string>();

export function iso(ms: number | null): string | null {
  if (ms === null) return null;
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (isoCache.size >= ISO_CACHE_MAX) isoCache.clear();
    isoCache.set(ms, s);
  }
  return s;
}
