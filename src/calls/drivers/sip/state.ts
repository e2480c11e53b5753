import type { Call } from '../../model.ts';
import { legOf } from '../../model.ts';
import { recordOf } from '../driver.ts';
import type { Message } from './stack.ts';

/** What the SIP driver stores with a call (its driver_state), and how it reads it. */

/** A leg's dialog (RFC 3261 §12), stored with the call once confirmed so a later run can end it. */
export interface Dialog {
  call_id: string;
  from_uri: string;
  from_tag: string;
  to_uri: string;
  to_tag: string | null;
  cseq: number;
  remote_target: string | null;
  route_set: string[];
  /** the far end's BYE ended it: nothing to send */
  ended?: boolean;
}

export interface SipState {
  trunk: string;
  /** the listen address (host:port) of the user agent that placed the call: its run ends it after a restart */
  ua?: string;
  ring_timeout_ms: number;
  max_duration_ms: number | null;
  legs: Record<string, Dialog>;
}

/** Connected: a one-leg call once answered, a click-to-call once leg `to` answered too. */
export function connected(call: Call): boolean {
  if (call.kind === 'click_to_call') return legOf(call, 'to')?.answered_at != null;
  return call.answered_at !== null;
}

export function stateOf(call: Call): SipState {
  return recordOf(call).state as SipState;
}

/** The leg's last SIP status and reason, for the call's view. */
export function shownLeg(call: Call, leg: string, status: number, reason: string): void {
  const rec = recordOf(call);
  rec.legs ??= {};
  rec.legs[leg] = { ...rec.legs[leg], sip_status: status, sip_reason: reason };
}

/** The headers every request in the dialog carries (RFC 3261 §12.2.1.1). */
export function dialogHeaders(d: Dialog): Message['headers'] {
  const h: Message['headers'] = {
    from: { uri: d.from_uri, params: { tag: d.from_tag } },
    to: { uri: d.to_uri, params: d.to_tag === null ? {} : { tag: d.to_tag } },
    'call-id': d.call_id,
  };
  if (d.route_set.length > 0) h.route = d.route_set.map((uri) => ({ uri, params: {} }));
  return h;
}

/** A request in the dialog, to its remote target (BYE, or the ACK of a 2xx with the INVITE's CSeq). */
export function inDialog(d: Dialog, method: string, seq: number): Message {
  return { method, uri: d.remote_target ?? d.to_uri, headers: { ...dialogHeaders(d), cseq: { method, seq }, 'max-forwards': 70 } };
}
