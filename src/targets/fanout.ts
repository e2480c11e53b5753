import type { Call, CallEvent } from '../calls/model.ts';
import type { FanOut } from '../calls/service.ts';
import { FORMAT_LIST } from '../formats/registry.ts';
import { newId } from '../ids.ts';
import type { NewDelivery } from '../store/contract.ts';
import type { AccountTargets, TargetRegistry } from './registry.ts';

/**
 * Each committed event through every format: the format matches its targets and renders each
 * delivery (formats/*.ts). No format is known here by name.
 */
export function planEvents(call: Call, events: readonly CallEvent[], targets: AccountTargets, now: number): NewDelivery[] {
  const out: NewDelivery[] = [];
  const memo = new Map<string, unknown>();
  for (const event of events) {
    for (const f of FORMAT_LIST) {
      f.plan(call, event, { index: targets.indexes.get(f.name), byId: targets.byId, memo }, (targetId, r) => {
        out.push({
          id: newId('msg', now),
          account_id: call.account_id,
          call_id: call.id,
          event_seq: event.seq,
          event_type: event.type,
          event_name: r.event_name,
          target_format: f.name,
          target_id: targetId,
          order_key: targetId,
          request: r.request,
          created_at: now,
          next_attempt_at: now,
        });
      });
    }
  }
  return out;
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
    return planEvents(call, events, await this.#registry.forAccount(call.account_id), now);
  }
}
