import { HooklineError } from '../errors.ts';
import type { Call, CallEvent, Leg, LegName, NewEvent, Outcome } from './model.ts';
import { legOf } from './model.ts';

/**
 * Refuses an event that cannot happen in the call's current state (SPEC §3). Every driver goes
 * through here, so "exactly one call.ended" holds whoever sends the events.
 */
export function checkTransition(call: Call, ev: NewEvent): void {
  if (call.status === 'ended') {
    throw new HooklineError('call_already_ended', `call ${call.id} ended already; ${ev.type} is refused`);
  }
  const leg = ev.leg === null ? undefined : legOf(call, ev.leg);
  const legName = ev.leg ?? 'main';
  switch (ev.type) {
    case 'call.accepted':
      if (call.last_seq > 0) throw new HooklineError('invalid_transition', 'call.accepted must be the first event of a call');
      return;
    case 'leg.initiated':
      if (leg && leg.status !== 'pending') throw new HooklineError('invalid_transition', `leg ${legName} was initiated already`);
      return;
    case 'leg.ringing':
      if (leg && (leg.status === 'ringing' || leg.status === 'answered' || leg.status === 'ended')) {
        throw new HooklineError('invalid_transition', `leg ${legName} is ${leg.status}; it cannot start ringing`);
      }
      return;
    case 'leg.answered':
      if (leg && (leg.status === 'answered' || leg.status === 'ended')) {
        throw new HooklineError('invalid_transition', `leg ${legName} is ${leg.status}; it cannot be answered`);
      }
      return;
    case 'call.ended':
      // "completed" is an answered call's end: said of a call nobody answered, its legs and its
      // outcome would tell receivers two different stories (answered_at null, duration 0).
      if (ev.data.outcome === 'completed' && call.answered_at === null) {
        throw new HooklineError('invalid_transition', 'call.ended with outcome completed needs an answered call: send leg.answered first, or the outcome that happened (no-answer, busy, failed, cancelled)');
      }
      return;
    case 'call.transcript':
    case 'call.error':
      return;
  }
}

function ensureLeg(call: Call, name: LegName, number: string): Leg {
  let leg = legOf(call, name);
  if (!leg) {
    leg = { name, number, status: 'pending', initiated_at: null, ringing_at: null, answered_at: null, ended_at: null, outcome: null };
    call.legs.push(leg);
  }
  return leg;
}

/**
 * The outcome of a call ended without one: answered → completed, otherwise cancelled. A driver
 * with a rule of its own (the simulator's click-to-call is connected only once both legs answered)
 * names the outcome in its call.ended.
 */
export function defaultOutcome(call: Call): Outcome {
  return call.answered_at !== null ? 'completed' : 'cancelled';
}

/**
 * Applies events to a call (mutating it) and returns them with their seq. The reducer is the
 * only place call state changes, whichever driver makes the call happen.
 */
export function applyEvents(call: Call, events: NewEvent[], now: number): CallEvent[] {
  const out: CallEvent[] = [];
  for (const ev of events) {
    checkTransition(call, ev);
    const legName = ev.leg ?? (ev.type.startsWith('leg.') ? 'main' : null);
    const number = legName === 'from' && call.kind === 'click_to_call' ? call.from : call.direction === 'inbound' ? call.from : call.to;
    const data = { ...ev.data };
    switch (ev.type) {
      case 'call.accepted':
        call.status = 'accepted';
        break;
      case 'leg.initiated': {
        const leg = ensureLeg(call, legName!, number);
        leg.status = 'initiated';
        leg.initiated_at = now;
        call.started_at ??= now;
        if (call.answered_at === null) call.status = 'initiated';
        break;
      }
      case 'leg.ringing': {
        const leg = ensureLeg(call, legName!, number);
        leg.status = 'ringing';
        leg.initiated_at ??= now;
        leg.ringing_at = now;
        call.started_at ??= now;
        if (call.answered_at === null) call.status = 'ringing';
        break;
      }
      case 'leg.answered': {
        const leg = ensureLeg(call, legName!, number);
        leg.status = 'answered';
        leg.initiated_at ??= now;
        leg.answered_at = now;
        call.started_at ??= now;
        call.answered_at ??= now;
        call.status = 'answered';
        break;
      }
      case 'call.transcript':
        call.transcript.push({ type: data.speaker ?? 'customer', message: data.message ?? '', at: now });
        break;
      case 'call.error':
        call.error_message = data.message ?? 'error';
        break;
      case 'call.ended': {
        const outcome = data.outcome ?? defaultOutcome(call);
        data.outcome = outcome;
        call.status = 'ended';
        call.outcome = outcome;
        call.ended_at = now;
        call.duration = call.answered_at === null ? 0 : Math.max(0, Math.round((now - call.answered_at) / 1000));
        if (data.recording_url) call.recording_url = data.recording_url;
        for (const leg of call.legs) {
          if (leg.status === 'ended') continue;
          leg.status = 'ended';
          leg.ended_at = now;
          leg.outcome = leg.answered_at !== null ? 'completed' : outcome === 'completed' ? 'cancelled' : outcome;
        }
        break;
      }
    }
    call.last_seq += 1;
    out.push({ call_id: call.id, account_id: call.account_id, seq: call.last_seq, type: ev.type, leg: legName, occurred_at: now, data });
  }
  return out;
}
