import type { Call, CallEvent } from '../calls/model.ts';
import type { FanOut } from '../calls/service.ts';
import type { Rendered } from '../formats/format.ts';
import { renderStandard } from '../formats/standard.ts';
import { newId } from '../ids.ts';
import type { NewDelivery } from '../store/contract.ts';
import type { FormatName } from './model.ts';
import type { EndpointTarget, TargetRegistry } from './registry.ts';

function endpointMatches(t: EndpointTarget, call: Call, event: CallEvent): boolean {
  const f = t.doc.filters;
  if (f.direction && f.direction.length > 0 && !f.direction.includes(call.direction)) return false;
  if (f.channel_id && f.channel_id.length > 0 && (call.channel_id === null || !f.channel_id.includes(call.channel_id))) return false;
  // The outcome is known only at the end, so it filters call.ended events alone.
  if (f.outcome && f.outcome.length > 0 && event.type === 'call.ended' && !f.outcome.includes(event.data.outcome ?? '')) return false;
  return true;
}

/**
 * Matches committed events to targets and renders each delivery once. Runs inside the call's
 * write, so an event and its deliveries are committed together (principle 1).
 */
export class TargetFanOut implements FanOut {
  readonly #registry: TargetRegistry;
  constructor(registry: TargetRegistry) {
    this.#registry = registry;
  }

  async plan(call: Call, events: CallEvent[], now: number): Promise<NewDelivery[]> {
    if (events.length === 0) return [];
    const targets = await this.#registry.forAccount(call.account_id);
    const out: NewDelivery[] = [];
    const add = (event: CallEvent, format: FormatName, targetId: string, r: Rendered) => {
      out.push({
        id: newId('msg', now),
        account_id: call.account_id,
        call_id: call.id,
        event_seq: event.seq,
        event_type: event.type,
        event_name: r.event_name,
        target_format: format,
        target_id: targetId,
        order_key: targetId,
        request: r.request,
        created_at: now,
        next_attempt_at: now,
      });
    };
    for (const event of events) {
      for (const t of targets.endpointsByEvent.get(event.type) ?? []) {
        if (endpointMatches(t, call, event)) add(event, 'standard', t.resource.id, renderStandard(call, event, t.doc));
      }
    }
    return out;
  }
}
