import type { Call, CallEvent } from '../calls/model.ts';
import { RESOURCE_KINDS } from '../targets/model.ts';
import { ANY_2XX, JSON_HEADERS, targetHeaders, type Format, type Rendered } from './format.ts';
import { parseTemplate, render, type Vars } from './template.ts';
import { sqlTime } from './time.ts';

/** Seed 000: the events each API accepts in its `callback` parameter. */
export const OBD_EVENTS = ['call_start', 'call_answer', 'call_end'] as const;
export const C2C_EVENTS = ['from_call_start', 'to_call_start', 'from_call_answer', 'to_call_answer', 'call_end'] as const;
/** Seed 000: at most 10 profile ids and URLs in one request. */
export const MAX_CALLBACK_TARGETS = 10;

/** SPEC §5: the variables a callback template may use. */
export const CALLBACK_VARS = [
  'call_id', 'event', 'caller', 'callee', 'bridge', 'direction', 'status', 'leg',
  'start_time', 'answer_time', 'end_time', 'duration', 'recording_url',
] as const;

export interface CallbackProfileDoc {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
}

/** The seed-000 event name of a canonical event on this call, or null when it has none. */
export function callbackEventName(call: Call, event: CallEvent): string | null {
  if (event.type === 'call.ended') return 'call_end';
  const what = event.type === 'leg.initiated' ? 'call_start' : event.type === 'leg.answered' ? 'call_answer' : null;
  if (what === null) return null;
  if (call.kind === 'click_to_call') return event.leg === 'from' || event.leg === 'to' ? `${event.leg}_${what}` : null;
  return what;
}

export function callbackVars(call: Call, event: CallEvent, name: string): Vars {
  // Each event shows the call as it was at that event, not as it is when the batch is written: a
  // late timer or a restart plays several steps in one batch (call_start must not carry the end).
  const ended = event.type === 'call.ended';
  // Answered by then: at an answer or the end, and at to_call_start (leg to is dialled when leg
  // from answers). `answer_time` is the call's first answer.
  const answered = ended || event.type === 'leg.answered' || (call.kind === 'click_to_call' && event.leg === 'to');
  return {
    call_id: call.id,
    event: name,
    caller: call.from,
    callee: call.to,
    bridge: call.bridge,
    direction: call.direction,
    status: ended ? (call.outcome ?? 'completed') : event.type === 'leg.answered' ? 'answered' : 'initiated',
    // call_end is about the call, whichever leg ended it
    leg: ended ? '' : (event.leg ?? ''),
    start_time: sqlTime(call.started_at),
    answer_time: answered ? sqlTime(call.answered_at) : '',
    end_time: ended ? sqlTime(call.ended_at) : '',
    duration: ended ? call.duration : 0,
    recording_url: ended ? call.recording_url : null,
  };
}

/** A profile: GET places what its URL template says; POST sends its body template, or all variables as JSON. */
export function renderProfile(doc: CallbackProfileDoc, vars: Vars, name: string): Rendered {
  const url = render(parseTemplate(doc.url, 'url'), vars);
  if (doc.method === 'GET') return { event_name: name, request: { method: 'GET', url, headers: { ...doc.headers }, body: null } };
  const body = doc.body === null ? JSON.stringify(vars) : render(parseTemplate(doc.body, 'json'), vars);
  return { event_name: name, request: { method: 'POST', url, headers: targetHeaders(doc.headers), body } };
}

/** A plain URL in the `callback` parameter: POST with a JSON object of all the variables. */
export function renderCallbackUrl(urlTemplate: string, vars: Vars, name: string): Rendered {
  const url = render(parseTemplate(urlTemplate, 'url'), vars);
  return { event_name: name, request: { method: 'POST', url, headers: { ...JSON_HEADERS }, body: JSON.stringify(vars) } };
}

/**
 * Seed 000: the call's own `callback` parameter names profiles and URLs per event. A profile
 * deleted after the call was placed has nothing left to call; a disabled one still gets its
 * row (dead, with the reason).
 */
export const callbackFormat: Format<null> = {
  name: 'callback',
  kind: RESOURCE_KINDS.callbackProfile,
  // a test shows any of them: an OBD sample call, or a click-to-call one for the from_/to_ events
  events: [...new Set([...OBD_EVENTS, ...C2C_EVENTS])],
  testEvent: 'call_end',
  index: () => null,
  plan(call, event, targets, add) {
    if (!call.callback) return;
    const name = callbackEventName(call, event);
    const entry = name === null ? undefined : call.callback[name];
    if (!entry || name === null) return;
    const vars = callbackVars(call, event, name);
    for (const id of entry.callback_profile) {
      const r = targets.byId.get(id);
      if (r?.kind !== RESOURCE_KINDS.callbackProfile) continue;
      add(id, renderProfile(r.doc as unknown as CallbackProfileDoc, vars, name));
    }
    for (const url of entry.url) add(`url:${url}`, renderCallbackUrl(url, vars, name));
  },
  success: ANY_2XX,
  sample: (target, event) => {
    const c2c = event !== 'call_end' && (C2C_EVENTS as readonly string[]).includes(event);
    return {
      kind: c2c ? 'click_to_call' : 'outbound',
      prepare: (call) => {
        const entry = { callback_profile: [target.id], url: [] };
        call.callback = Object.fromEntries((c2c ? C2C_EVENTS : OBD_EVENTS).map((e) => [e, entry]));
      },
    };
  },
};
