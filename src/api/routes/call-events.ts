import { Type } from '@fastify/type-provider-typebox';
import { toProblem } from '../../errors.ts';
import { IngestBatch, IngestBody, MAX_INGEST_BATCH, Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { CallAnswer, IngestBatchAnswer } from '../responses.ts';
import { bodyChecker } from '../validation.ts';
import { callView } from '../../calls/view.ts';
import type { IngestInput } from '../../calls/service.ts';

const checkEvent = bodyChecker(IngestBody);
// The batch's envelope, its elements left to checkEvent: an element that is not an object (a
// `null`, a number) is answered on its own like any other bad event, not by refusing the
// batch. The documented request schema (IngestBatch, in the route's OpenAPI) keeps objects.
const checkBatch = bodyChecker(Obj({ events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_INGEST_BATCH }) }));

export function callEventRoutes(app: Api, deps: ApiDeps): void {
  app.post('/v1/call-events', {
    schema: {
      tags: ['calls'],
      summary: 'Ingest events from an external switch: one, or a batch of up to 1,000; idempotent by event_id',
      description: 'One event answers the Hookline call: 201 when the event created it, 200 otherwise (a repeated event_id changes nothing); '
        + 'an impossible transition answers 409. `{"events": [...]}` (up to 1,000) answers 200 with one result per event, in order: '
        + '`{event_id, status, call_id, external_id}` or `{event_id, status, error}` with the problem the event alone would have had. '
        + "A batch is applied in order per call; events of different calls are independent.",
      body: Type.Union([IngestBody, IngestBatch]),
      response: {
        200: Type.Union([CallAnswer, IngestBatchAnswer], { description: 'the call (one event it did not create), or one result per event (a batch)' }),
        201: CallAnswer,
      },
    },
    // Two shapes under one status: written as they are (a schema would have to guess the shape).
    serializerCompiler: () => (v: unknown) => JSON.stringify(v),
    // Validated here: a batch's events one by one, so one bad event does not refuse the others.
    validatorCompiler: () => () => true,
  }, async (req, reply) => {
    const body = req.body as unknown;
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body) {
      const bad = checkBatch(body);
      if (bad) throw bad;
      const items = (body as { events: unknown[] }).events.map((e) => checkEvent(e) ?? (e as IngestInput));
      const results = await deps.calls.ingestBatch(req.auth.account_id, items);
      for (const r of results) if (r.cause !== undefined) req.log.error({ err: r.cause }, 'ingested event failed');
      return reply.status(200).send({
        data: results.map((r, i) => {
          const event_id = eventIdOf((body as { events: unknown[] }).events[i]);
          if (r.error) return { event_id, status: r.error.status, error: toProblem(r.error) };
          return { event_id, status: r.status, call_id: r.call!.id, external_id: r.call!.external_id };
        }),
      });
    }
    const bad = checkEvent(body);
    if (bad) throw bad;
    const answer = await deps.calls.ingest(req.auth.account_id, body as IngestInput);
    return reply.status(answer.status as 200 | 201).send(callView(answer.call, await deps.store.listEvents([answer.call.id])));
  });
}

function eventIdOf(e: unknown): string | null {
  const id = (e as { event_id?: unknown } | null)?.event_id;
  return typeof id === 'string' ? id : null;
}
