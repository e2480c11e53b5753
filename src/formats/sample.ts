import type { Call, CallEvent, CallKind, NewEvent, Outcome } from '../calls/model.ts';
import { applyEvents } from '../calls/state.ts';

/** The sample call's parties: seed 004's example numbers. */
const FROM = '+905555555555';
const TO = '+905555555554';
const SOURCE: Record<CallKind, string> = { outbound: 'OBD', click_to_call: 'C2C', inbound: 'inbound' };

/**
 * A sample call for a target's test, built like a live one: a `Call` with every field a live
 * call has (number 1, the default source, a bridge, a flow id), whose events are played through
 * the same reducer as live events, so each format renders it exactly as it renders live traffic.
 */
export function sampleCall(accountId: string, kind: CallKind, now: number): Call {
  return {
    id: 'call_sample', number: 1, account_id: accountId, kind, direction: kind === 'inbound' ? 'inbound' : 'outbound',
    from: FROM, to: TO, bridge: '+918068280001', channel_id: null, flow_id: 123, source: SOURCE[kind], status: 'accepted', outcome: null,
    created_at: now, started_at: null, answered_at: null, ended_at: null, duration: 0, recording_url: null, transcript: [],
    tracking: null, metadata: null, legs: [], error_message: null, external_id: null, webhook_id: null, callback: null,
    driver_state: { driver: 'sim', state: null }, last_seq: 0, version: 1,
  };
}

/**
 * The sample call's life, one event at a time: what a live call of this kind goes through. An
 * answered call talks and has a transcript line; `withError` adds a `call.error` (seed 004's
 * `error` event) before the end.
 */
export function sampleEvents(call: Call, outcome: Outcome, withError: boolean): NewEvent[] {
  const leg = call.kind === 'click_to_call' ? 'from' : 'main';
  const out: NewEvent[] = call.kind === 'inbound' ? [] : [{ type: 'call.accepted', leg: null, data: {} }];
  out.push({ type: 'leg.initiated', leg, data: {} }, { type: 'leg.ringing', leg, data: {} });
  if (outcome === 'completed') {
    out.push({ type: 'leg.answered', leg, data: {} });
    // a click-to-call dials its `to` leg once `from` has answered
    if (call.kind === 'click_to_call') out.push({ type: 'leg.initiated', leg: 'to', data: {} }, { type: 'leg.ringing', leg: 'to', data: {} }, { type: 'leg.answered', leg: 'to', data: {} });
    out.push({ type: 'call.transcript', leg: null, data: { speaker: 'customer', message: 'Hello, how are you?' } });
  }
  if (withError) out.push({ type: 'call.error', leg: null, data: { message: 'Error message' } });
  const ended: NewEvent = { type: 'call.ended', leg: null, data: { outcome } };
  if (outcome === 'completed') ended.data.recording_url = 'https://example.com/recordings/sample.mp3';
  out.push(ended);
  return out;
}

/** Plays the events one by one, a few seconds apart and ending `now`; calls `each` after each, as a live call's writes would. */
export function playSample(call: Call, events: NewEvent[], now: number, each: (event: CallEvent) => void): void {
  const step = 3000;
  // created when its first event happened, as a live call is (not after its own events)
  call.created_at = now - (events.length - 1) * step;
  events.forEach((ev, i) => {
    for (const e of applyEvents(call, [ev], now - (events.length - 1 - i) * step)) each(e);
  });
}
