import type { Call, CallEvent } from './model.ts';
import { iso } from './model.ts';
import { recordOf } from './drivers/driver.ts';

/** A call as the API shows it (SPEC §4): times as ISO 8601, the timeline in seq order. */
export function callView(call: Call, events: CallEvent[]): Record<string, unknown> {
  return {
    id: call.id,
    object: 'call',
    number: call.number ?? null,
    kind: call.kind,
    direction: call.direction,
    from: call.from,
    to: call.to,
    bridge: call.bridge,
    status: call.status,
    outcome: call.outcome,
    channel_id: call.channel_id,
    flow_id: call.flow_id,
    source: call.source,
    created_at: iso(call.created_at),
    started_at: iso(call.started_at),
    answered_at: iso(call.answered_at),
    ended_at: iso(call.ended_at),
    duration: call.duration,
    recording_url: call.recording_url,
    error_message: call.error_message,
    legs: call.legs.map((l) => ({
      ...recordOf(call).legs?.[l.name],
      name: l.name,
      number: l.number,
      status: l.status,
      outcome: l.outcome,
      initiated_at: iso(l.initiated_at),
      ringing_at: iso(l.ringing_at),
      answered_at: iso(l.answered_at),
      ended_at: iso(l.ended_at),
    })),
    events: events.map(eventView),
    transcript: call.transcript.map((t) => ({ type: t.type, message: t.message, at: iso(t.at) })),
    tracking: call.tracking,
    metadata: call.metadata,
    webhook_id: call.webhook_id,
    callback: call.callback,
    driver: recordOf(call).driver,
    external_id: call.external_id,
  };
}

export function eventView(e: CallEvent): Record<string, unknown> {
  return { seq: e.seq, type: e.type, leg: e.leg, occurred_at: iso(e.occurred_at), ...e.data };
}
