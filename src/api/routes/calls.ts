import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Call } from '../../calls/model.ts';
import type { CreateCallInput, Idempotency } from '../../calls/service.ts';
import { HooklineError } from '../../errors.ts';
import { idFloor, newIdShape } from '../../ids.ts';
import { cursorOf, page } from '../paging.ts';
import { CallListQuery, ClickToCallBody, IdParams, InboundCallBody, OutboundCallBody, TranscriptBody } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { CallAnswer, ListOf } from '../responses.ts';
import { callView } from '../../calls/view.ts';

const IDEMPOTENCY_HEADER = 'idempotency-key';
const CALL_ID = newIdShape('call');

function idempotency(req: FastifyRequest, route: string): Idempotency | undefined {
  const key = req.headers[IDEMPOTENCY_HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw new HooklineError('invalid_field', 'Idempotency-Key must be 1 to 255 characters', { field: 'header.idempotency-key' });
  }
  const request_hash = createHash('sha256').update(JSON.stringify(req.body ?? null)).digest('hex');
  return { route, key, request_hash };
}

/** A date-time the schema let through that Date cannot read (a leap second): a field error. */
function instant(value: string, name: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new HooklineError('invalid_field', `query.${name} is not a time Hookline can read`, { field: `query.${name}` });
  return ms;
}

export function callRoutes(app: Api, deps: ApiDeps): void {
  const { calls, store } = deps;

  async function withTimeline(call: Call): Promise<Record<string, unknown>> {
    return callView(call, await store.listEvents([call.id]));
  }

  async function create(req: FastifyRequest, reply: FastifyReply, route: string, input: CreateCallInput) {
    const idem = idempotency(req, route);
    const answer = await calls.create(req.auth.account_id, input, idem, (call, events) => JSON.stringify(callView(call, events)));
    if (answer.replayed) {
      return reply.status(answer.replayed.status).header('idempotent-replayed', 'true').type('application/json').send(answer.replayed.body);
    }
    // The events of a new call are all in hand: answer from them, the same bytes an
    // Idempotency-Key replay will send later.
    const body = answer.events ? callView(answer.call, answer.events) : await withTimeline(answer.call);
    return reply.status(201).type('application/json').send(JSON.stringify(body));
  }

  app.post('/v1/calls', {
    schema: { tags: ['calls'], summary: 'Outbound Calling API (OBD): place a simulated call', body: OutboundCallBody, response: { 201: CallAnswer } },
  }, (req, reply) => create(req, reply, 'POST /v1/calls', { kind: 'outbound', ...req.body }));

  app.post('/v1/click-to-call', {
    schema: { tags: ['calls'], summary: 'Click-to-Call: dial leg `from`, then leg `to` when `from` answers', body: ClickToCallBody, response: { 201: CallAnswer } },
  }, (req, reply) => create(req, reply, 'POST /v1/click-to-call', { kind: 'click_to_call', ...req.body }));

  app.post('/v1/inbound-calls', {
    schema: { tags: ['calls'], summary: 'A simulated inbound call on a number or channel', body: InboundCallBody, response: { 201: CallAnswer } },
  }, (req, reply) => create(req, reply, 'POST /v1/inbound-calls', { kind: 'inbound', ...req.body }));

  app.get('/v1/calls', {
    schema: { tags: ['calls'], summary: 'List calls, newest first', querystring: CallListQuery, response: { 200: ListOf(CallAnswer) } },
  }, async (req) => {
    const { limit = 20, cursor, created_after, created_before, ...filter } = req.query;
    // Ids sort by creation time (newest first here): `created_before` starts the list below the
    // smallest id of that millisecond; `created_after` ends it at the first older call (a short
    // page then has no next_cursor).
    let after = cursorOf(cursor, CALL_ID);
    if (created_before !== undefined) {
      const floor = idFloor('call', instant(created_before, 'created_before'));
      if (after === null || floor < after) after = floor;
    }
    const since = created_after === undefined ? null : instant(created_after, 'created_after');
    const { rows, next_cursor } = await page(limit, async (n) => {
      const got = await store.listCalls(req.auth.account_id, filter, n, after);
      return since === null ? got : got.filter((c) => c.created_at >= since);
    });
    const events = await store.listEvents(rows.map((c) => c.id));
    const byCall = Map.groupBy(events, (e) => e.call_id);
    return { object: 'list', data: rows.map((c) => callView(c, byCall.get(c.id) ?? [])), next_cursor };
  });

  app.get('/v1/calls/:id', {
    schema: { tags: ['calls'], summary: 'A call with its legs and event timeline', params: IdParams, response: { 200: CallAnswer } },
  }, async (req) => withTimeline(await calls.get(req.auth.account_id, req.params.id)));

  app.post('/v1/calls/:id/hangup', {
    schema: { tags: ['calls'], summary: 'End the call now: completed if answered, else cancelled', params: IdParams, response: { 200: CallAnswer } },
  }, async (req) => withTimeline(await calls.hangup(req.auth.account_id, req.params.id)));

  app.post('/v1/calls/:id/transcript', {
    schema: { tags: ['calls'], summary: 'Append a transcript line; emits call.transcript', params: IdParams, body: TranscriptBody, response: { 201: CallAnswer } },
  }, async (req, reply) => reply.status(201).send(await withTimeline(await calls.addTranscript(req.auth.account_id, req.params.id, req.body))));
}
