import type { Call, NewEvent } from '../../model.ts';
import type { Message } from './stack.ts';
import { connected, stateOf, type Dialog } from './state.ts';

/**
 * What a run does at start with the SIP calls the previous run left live (README "Restart"):
 * they are ended with `call.error` + `call.ended`, and the driver's after-commit hook sends the
 * BYE of every confirmed dialog stored with them. A leg still ringing has no dialog, and its
 * INVITE's transaction died with the run (the stored state has no Via branch to CANCEL it by):
 * it is given up, and a call not connected ends `failed`.
 */

/** A call of the previous run is this run's to end: placed by a user agent at this listen address (or stored before calls named theirs). */
export function isOurs(call: Call, ua: string): boolean {
  const st = stateOf(call);
  return st.ua === undefined || st.ua === ua;
}

/** The SIP Call-IDs of the call's confirmed dialogs that are not ended yet, with their legs. */
export function confirmedDialogs(call: Call): [sipCallId: string, leg: string][] {
  return Object.entries(stateOf(call).legs).filter(([, d]) => d.to_tag !== null && !d.ended).map(([leg, d]) => [d.call_id, leg]);
}

/** The events that end a call the previous run left live: completed if connected, else failed. */
export function endOrphan(call: Call): NewEvent[] {
  return endInterrupted(call, 'restarted', 'given up');
}

/**
 * The events that end a call this run holds when it stops (SIGTERM): the same as a restart's, so
 * the far end is not left up until the next start; the after-commit hook sends the BYEs and CANCELs.
 */
export function endOnStop(call: Call): NewEvent[] {
  return endInterrupted(call, 'stopped', 'cancelled');
}

function endInterrupted(call: Call, what: 'restarted' | 'stopped', invite: 'given up' | 'cancelled'): NewEvent[] {
  if (call.status === 'ended') return [];
  const ringing = Object.entries(stateOf(call).legs).filter(([, d]) => d.to_tag === null).map(([leg]) => leg);
  const up = connected(call);
  const message = up
    ? `Hookline ${what} during the call: its dialog was ended with a BYE`
    : `Hookline ${what} before the call was connected: the INVITE of leg ${ringing.join(', ') || '?'} was ${invite}`;
  return [
    { type: 'call.error', leg: null, data: { message } },
    { type: 'call.ended', leg: null, data: { outcome: up ? 'completed' : 'failed' } },
  ];
}

/** The far end's BYE on a dialog of the previous run: nothing more to send on it, and the call ends if it has not. */
export function byeOfOrphan(call: Call, leg: string): NewEvent[] {
  const d = stateOf(call).legs[leg];
  if (d) d.ended = true;
  return call.status === 'ended' ? [] : [{ type: 'call.ended', leg, data: { outcome: 'completed' } }];
}

/** The dialog a 2xx to an INVITE establishes (RFC 3261 §12.1.2), or null for any other response. */
export function strayDialog(rs: Message): Dialog | null {
  const h = rs.headers;
  const status = rs.status ?? 0;
  if (status < 200 || status >= 300 || h.cseq?.method !== 'INVITE' || !h.from || !h.to || !h['call-id']) return null;
  const contact = Array.isArray(h.contact) ? h.contact[0]?.uri : undefined;
  return {
    call_id: h['call-id'], from_uri: h.from.uri, from_tag: h.from.params.tag ?? '', to_uri: h.to.uri, to_tag: h.to.params.tag ?? null,
    cseq: h.cseq.seq, remote_target: contact ?? h.to.uri, route_set: (h['record-route'] ?? []).map((r) => r.uri).reverse(),
  };
}
