import type { Outcome } from '../../model.ts';

/**
 * A final SIP response that ends an unanswered leg, as an outcome (README "SIP"): busy for
 * 486/600/603, no-answer for 408/480/487, failed (with a call.error) for every other ≥ 300.
 */
export function outcomeOf(status: number): Outcome {
  if (status === 486 || status === 600 || status === 603) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

/**
 * A final answer made here, not by the far end: the transport's 503 (the trunk could not be
 * reached: a TCP connection refused) or the transaction's timeout (timer B: nothing came back).
 */
export function localFinal(status: number): { status: number; reason: string; why: string } {
  if (status === 503) return { status, reason: 'Transport Error', why: 'could not reach it (transport error)' };
  return { status: 408, reason: 'Request Timeout', why: 'no final answer (SIP timer B)' };
}

/** An SDP offer for a leg (RFC 4566): audio, PCMU/PCMA and telephone-event, at Hookline's address. */
export function sdpOffer(host: string, port: number, session: number): string {
  return [
    'v=0',
    `o=hookline ${session} ${session} IN IP4 ${host}`,
    's=hookline',
    `c=IN IP4 ${host}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
