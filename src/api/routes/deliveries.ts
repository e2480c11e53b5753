import { redactUrl } from '../../delivery/redact.ts';
import { Type } from 'typebox';
import { DELIVERY_STATUSES, TEST_CALL_ID, type Attempt, type Delivery, type DeliveryFilter } from '../../store/contract.ts';
import { HooklineError } from '../../errors.ts';
import { newIdShape } from '../../ids.ts';
import { cursorOf, page } from '../paging.ts';
import { Enum, IdParams, ListQuery, Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { DeliveryAnswer, ListOf, RecoveryAnswer } from '../responses.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function attemptView(a: Attempt): Record<string, unknown> {
  return {
    attempt: a.attempt,
    started_at: iso(a.started_at),
    status_code: a.status_code,
    error: a.error,
    duration_ms: a.duration_ms,
    request: a.request,
    response_headers: a.response_headers,
    response_excerpt: a.response_excerpt,
  };
}

/**
 * A delivery as SPEC §4 shows it: `event` is the format's own event name. `withBody`: the body
 * sent (the same for every attempt; an attempt's request keeps its own headers), for the page of
 * one delivery, not for lists.
 */
export function deliveryView(d: Delivery, attempts: Attempt[], withBody = false): Record<string, unknown> {
  return {
    id: d.id,
    object: 'delivery',
    // a test (a target's test button, or POST /v1/test-deliveries) belongs to no call
    call_id: d.call_id === TEST_CALL_ID ? null : d.call_id,
    test: d.call_id === TEST_CALL_ID,
    event_seq: d.event_seq,
    event: d.event_name,
    event_type: d.event_type,
    target: { format: d.target_format, id: d.target_id },
    // a delivery waiting behind an earlier event of its call is pending to the outside
    status: d.status === 'queued' ? 'pending' : d.status,
    attempt_count: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    waiting_for_earlier_event: d.status === 'queued',
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    created_at: iso(d.created_at),
    updated_at: iso(d.updated_at),
    // Redacted like each attempt's request (a token in the query is a secret: SPEC §6).
    request: withBody ? { method: d.request.method, url: redactUrl(d.request.url), body: d.request.body ?? null } : { method: d.request.method, url: redactUrl(d.request.url) },
    attempts: attempts.map(attemptView),
  };
}

// A delivery's id is its webhook-id: `msg_…` (src/targets/fanout.ts).
const DELIVERY_ID = newIdShape('msg');

const DeliveryListQuery = ListQuery({
  call_id: Type.Optional(Type.String({ maxLength: 128, description: '`test` lists test deliveries' })),
  target_id: Type.Optional(Type.String({ maxLength: 256 })),
  status: Type.Optional(Enum(DELIVERY_STATUSES)),
  event: Type.Optional(Type.String({ maxLength: 128, description: "the format's event name or Hookline's event type (`call.ended`)" })),
});

const RecoverBody = Obj({
  target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the dead deliveries to this target' })),
  call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the dead deliveries of this call' })),
});

/**
 * Dead deliveries one recovery sends again at most. Each is a retry of its own (a write), so a
 * request stays short; `more: true` says to send the request again for the rest.
 */
const RECOVER_AT_MOST = 1000;

/** Deliveries an `event` filter looks through for one page at most, before answering what it found. */
const EVENT_SCAN = 2000;

export function deliveryRoutes(onRetry: () => void) {
  return (app: Api, deps: ApiDeps): void => {
    const { store } = deps;
    const tags = ['deliveries'];

    app.get('/v1/deliveries', { schema: { tags, summary: 'The delivery log, newest first', querystring: DeliveryListQuery, response: { 200: ListOf(DeliveryAnswer) } } }, async (req) => {
      const { limit = 20, cursor, event, ...filter } = req.query;
      const after = cursorOf(cursor, DELIVERY_ID);
      const { rows, next_cursor } = event === undefined
        ? await page(limit, (n) => store.listDeliveries(req.auth.account_id, filter, n, after))
        : await scanForEvent(req.auth.account_id, filter, event, limit, after);
      const attempts = Map.groupBy(await store.listAttempts(rows.map((d) => d.id)), (a) => a.delivery_id);
      return { object: 'list', data: rows.map((d) => deliveryView(d, attempts.get(d.id) ?? [])), next_cursor };
    });

    /**
     * The store filters by call, target and status; the event is matched here, reading the log in
     * batches. A page that looked through EVENT_SCAN deliveries answers what it found with a
     * next_cursor where it stopped, so a rare event never makes one request read the whole log.
     */
    async function scanForEvent(account: string, filter: DeliveryFilter, event: string, limit: number, after: string | null): Promise<{ rows: Delivery[]; next_cursor: string | null }> {
      const rows: Delivery[] = [];
      let from = after;
      for (let scanned = 0; scanned < EVENT_SCAN;) {
        const batch = await store.listDeliveries(account, filter, 200, from);
        for (const d of batch) {
          if (d.event_name !== event && d.event_type !== event) continue;
          if (rows.length === limit) return { rows, next_cursor: rows[rows.length - 1]!.id };
          rows.push(d);
        }
        if (batch.length < 200) return { rows, next_cursor: null };
        scanned += batch.length;
        from = batch[batch.length - 1]!.id;
      }
      return { rows, next_cursor: from };
    }

    app.get('/v1/deliveries/:id', { schema: { tags, summary: 'A delivery with every attempt', params: IdParams, response: { 200: DeliveryAnswer } } }, async (req) => {
      const d = await store.getDelivery(req.auth.account_id, req.params.id);
      if (!d) throw new HooklineError('not_found', `no delivery ${req.params.id}`);
      return deliveryView(d, await store.listAttempts([d.id]), true);
    });

    /**
     * Every dead delivery of a target or a call sent again, oldest call first: each call's events
     * go in their order (a retry of event N+1 issued after N's waits behind N while N is
     * unsettled), which retrying them one by one from the log, newest first, would reverse. A
     * call cut at RECOVER_AT_MOST has its earlier events retried first, the rest next time.
     */
    app.post('/v1/deliveries/recover', {
      schema: { tags, summary: 'Send every dead delivery of a target or a call again, oldest first (in order per call)', body: RecoverBody, response: { 202: RecoveryAnswer } },
    }, async (req, reply) => {
      const { account_id } = req.auth;
      const { target_id, call_id } = req.body;
      if (target_id === undefined && call_id === undefined) throw new HooklineError('missing_field', 'give target_id, call_id or both', { field: 'target_id' });
      if (call_id === TEST_CALL_ID) throw new HooklineError('test_not_retried', 'test deliveries are sent once; send a new test');
      // by call (ids grow with time), each call's in event order; one more than a request takes, to tell `more`
      const dead = await store.deadDeliveries(account_id, { target_id, call_id }, RECOVER_AT_MOST + 1);
      let retried = 0;
      for (const id of dead.slice(0, RECOVER_AT_MOST)) if (await store.retryDelivery(account_id, id, deps.clock.now())) retried++;
      if (retried > 0) onRetry();
      return reply.status(202).send({ object: 'recovery', retried, more: dead.length > RECOVER_AT_MOST });
    });

    app.post('/v1/deliveries/:id/retry', { schema: { tags, summary: 'Send a delivery again now (same webhook-id)', params: IdParams, response: { 202: DeliveryAnswer } } }, async (req, reply) => {
      const { account_id } = req.auth;
      const d = await store.getDelivery(account_id, req.params.id);
      if (!d) throw new HooklineError('not_found', `no delivery ${req.params.id}`);
      // A test goes once, now, to what the target was at that moment (perhaps never saved):
      // retried, it would rejoin the retry schedule, or die as "target deleted".
      if (d.call_id === TEST_CALL_ID) throw new HooklineError('test_not_retried', `delivery ${d.id} is a test, sent once; send a new test (POST /v1/{kind}/{id}/test)`);
      if (!(await store.retryDelivery(account_id, d.id, deps.clock.now()))) {
        throw new HooklineError('delivery_in_progress', `delivery ${d.id} is being attempted now, or waits for an earlier event of its call; try again when it settles`);
      }
      onRetry();
      const after = (await store.getDelivery(account_id, d.id))!;
      return reply.status(202).send(deliveryView(after, await store.listAttempts([d.id]), true));
    });
  };
}
