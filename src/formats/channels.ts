import type { Call, CallEvent } from '../calls/model.ts';
import { firstAnsweredLeg, firstLeg, iso } from '../calls/model.ts';
import { JSON_HEADERS, type Rendered } from './format.ts';

/** Seed 002: the statuses each subscription event knows. */
export const CHANNEL_STATUSES = {
  'voice.inbound': ['starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed'],
  'voice.outbound': ['accepted', 'starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed', 'cancelled'],
} as const;
export type ChannelEvent = keyof typeof CHANNEL_STATUSES;
export const CHANNEL_EVENTS = Object.keys(CHANNEL_STATUSES) as ChannelEvent[];

export interface SubscriptionDoc {
  service: 'channels';
  event: ChannelEvent;
  url: string;
  signing_key: string | null;
  eventFilters: { key: 'status' | 'channelId'; value: string }[];
}

/**
 * The seed-002 status an event announces, or null when the format has none for it: `accepted`
 * (outbound only), `starting`/`ringing` of the first leg, `ongoing` at the first answer, and the
 * outcome at the end. An inbound call has no `cancelled`: a caller who hangs up unanswered is
 * reported as `no-answer`.
 */
export function channelStatus(call: Call, event: CallEvent): string | null {
  switch (event.type) {
    case 'call.accepted':
      return call.direction === 'outbound' ? 'accepted' : null;
    case 'leg.initiated':
      return event.leg === firstLeg(call)?.name ? 'starting' : null;
    case 'leg.ringing':
      return event.leg === firstLeg(call)?.name ? 'ringing' : null;
    case 'leg.answered':
      return event.leg === firstAnsweredLeg(call)?.name && event.occurred_at === firstAnsweredLeg(call)?.answered_at ? 'ongoing' : null;
    case 'call.ended': {
      const outcome = event.data.outcome ?? 'completed';
      return call.direction === 'inbound' && outcome === 'cancelled' ? 'no-answer' : outcome;
    }
    default:
      return null;
  }
}

export function channelEventOf(call: Call): ChannelEvent {
  return call.direction === 'inbound' ? 'voice.inbound' : 'voice.outbound';
}

/** Filters of different keys AND; `status` values OR; a channelId filter needs the call's channel. */
export function subscriptionMatches(doc: SubscriptionDoc, call: Call, status: string): boolean {
  if (doc.event !== channelEventOf(call)) return false;
  const statuses = doc.eventFilters.filter((f) => f.key === 'status').map((f) => f.value);
  if (statuses.length > 0 && !statuses.includes(status)) return false;
  const channel = doc.eventFilters.find((f) => f.key === 'channelId');
  if (channel && channel.value !== call.channel_id) return false;
  return true;
}

export function renderChannels(doc: SubscriptionDoc, call: Call, event: CallEvent, status: string): Rendered {
  const payload: Record<string, unknown> = {
    id: call.id,
    channelId: call.channel_id,
    direction: call.direction,
    status,
    from: call.from,
    to: call.to,
    createdAt: iso(call.created_at),
    updatedAt: iso(event.occurred_at),
  };
  if (event.type === 'call.ended') {
    payload.duration = call.duration;
    if (call.recording_url) payload.recordingUrl = call.recording_url;
  }
  const body = JSON.stringify({ service: 'channels', event: doc.event, payload });
  return { event_name: status, request: { method: 'POST', url: doc.url, headers: { ...JSON_HEADERS }, body } };
}
