import type { CallEvent } from '../calls/model.ts';
import type { Clock } from '../clock.ts';
import { deliveryHeaders } from '../delivery/headers.ts';
import { redactHeaders, redactUrl } from '../delivery/redact.ts';
import type { Sender } from '../delivery/sender.ts';
import { HooklineError, fieldError } from '../errors.ts';
import type { Rendered } from '../formats/format.ts';
import { formatOfKind } from '../formats/registry.ts';
import { playSample, sampleCall, sampleEvents } from '../formats/sample.ts';
import { newId } from '../ids.ts';
import { TEST_CALL_ID } from '../store/contract.ts';
import type { Attempt, NewDelivery, Resource, Store } from '../store/contract.ts';
import { RESOURCE_KINDS } from './model.ts';
import { indexTargets, settingsOf, type TargetRegistry } from './registry.ts';

/** What a test answers (SPEC §4), and where it is in the log. */
export interface TestOutcome {
  success: boolean;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
  /** as sent, secrets redacted, with its body */
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  event: string;
  delivery_id: string;
}

interface Planned {
  event: CallEvent;
  rendered: Rendered;
}

/**
 * Test deliveries: a sample call played through the same reducer as live calls, planned by the
 * target's format exactly as fan-out plans it, signed by the same headers, sent through the same
 * sender (and so the same address guard at connect time), and recorded in the delivery log.
 */
export class TestDeliveries {
  readonly #d: { store: Store; clock: Clock; registry: TargetRegistry; sender: Sender };

  constructor(deps: { store: Store; clock: Clock; registry: TargetRegistry; sender: Sender }) {
    this.#d = deps;
  }

  /** Sends a test to `target` (saved, or built from an unsaved configuration); `event` is the format's own event name. */
  async send(accountId: string, target: Resource, event?: string): Promise<TestOutcome> {
    const format = formatOfKind(target.kind);
    if (!format) throw new Error(`resource kind ${target.kind} is not a target`);
    if (event !== undefined && !format.events.includes(event)) {
      throw fieldError('invalid_field', 'event', `event: the ${format.name} format sends ${format.events.join(', ')}`);
    }
    const want = event ?? format.testEvent;
    let planned = await this.#plan(accountId, target, want, false);
    // Seed 004's `error` comes from a call.error, which a sample call has only when asked for.
    if (!planned.some((p) => p.rendered.event_name === want)) planned = await this.#plan(accountId, target, want, true);
    const chosen = planned.find((p) => p.rendered.event_name === want) ?? (event === undefined ? planned[0] : undefined);
    if (!chosen) {
      throw new HooklineError('invalid_field', `this target takes no ${event ?? 'event'} of a sample call (check its events and filters)`, { field: 'event' });
    }
    return this.#send(accountId, target, format.name, chosen, format.asTest);
  }

  async #plan(accountId: string, target: Resource, event: string, withError: boolean): Promise<Planned[]> {
    const format = formatOfKind(target.kind)!;
    const setup = format.sample(target, event);
    const now = this.#d.clock.now();
    const call = sampleCall(accountId, setup.kind, now);
    setup.prepare?.(call);
    // Only this target (and what it refers to, e.g. seed 003's property) is planned for.
    const account = await this.#d.registry.forAccount(accountId);
    const properties = account.byKind.get(RESOURCE_KINDS.property) ?? [];
    const targets = indexTargets([...properties, ...(setup.resources ?? []), target], now);
    const out: Planned[] = [];
    playSample(call, sampleEvents(call, setup.outcome ?? 'completed', withError), now, (ev) => {
      format.plan(call, ev, { index: targets.indexes.get(format.name), byId: targets.byId, memo: new Map() }, (targetId, rendered) => {
        if (targetId === target.id) out.push({ event: ev, rendered });
      });
    });
    return out;
  }

  async #send(accountId: string, target: Resource, formatName: string, p: Planned, asTest?: (r: Rendered['request']) => Rendered['request']): Promise<TestOutcome> {
    const { clock, sender, store } = this.#d;
    const started = clock.now();
    const request = asTest ? asTest(p.rendered.request) : p.rendered.request;
    const settings = settingsOf(target, started);
    const d: NewDelivery = {
      id: newId('msg', started), account_id: accountId, call_id: TEST_CALL_ID, event_seq: p.event.seq, event_type: p.event.type,
      event_name: p.rendered.event_name, target_format: formatName, target_id: target.id, order_key: `test:${target.id}`,
      request, created_at: started, next_attempt_at: started,
    };
    const headers = deliveryHeaders(d, settings, 1, Math.floor(started / 1000));
    const r = await sender.send({ ...request, headers }, settings.timeout_ms, settings.connect_timeout_ms);
    const success = r.status_code !== null && formatOfKind(target.kind)!.success(r.status_code);
    const error = r.error ?? (success || r.status_code === null ? null : `HTTP ${r.status_code} is not a success for the ${formatName} format`);
    const logged = { method: request.method, url: redactUrl(request.url), headers: redactHeaders(headers) };
    const attempt: Attempt = {
      delivery_id: d.id, attempt: 1, started_at: started, duration_ms: r.duration_ms, status_code: r.status_code, error,
      request: logged, response_headers: r.headers, response_excerpt: r.excerpt,
    };
    await store.recordTestDelivery(d, success ? 'succeeded' : 'dead', attempt, clock.now());
    return {
      success, status_code: r.status_code, latency_ms: r.duration_ms, response_excerpt: r.excerpt, error,
      request: { ...logged, body: request.body }, event: p.rendered.event_name, delivery_id: d.id,
    };
  }
}
