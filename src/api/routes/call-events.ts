import { IngestBody } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { callView } from '../../calls/view.ts';

export function callEventRoutes(app: Api, deps: ApiDeps): void {
  app.post('/v1/call-events', {
    schema: {
      tags: ['calls'],
      summary: 'Ingest an event from an external switch; idempotent by event_id',
      description: 'Answers the Hookline call: 201 when the event created it, 200 otherwise (a repeated event_id changes nothing). Impossible transitions answer 409.',
      body: IngestBody,
    },
  }, async (req, reply) => {
    const answer = await deps.calls.ingest(req.auth.account_id, req.body);
    return reply.status(answer.status).send(callView(answer.call, await deps.store.listEvents([answer.call.id])));
  });
}
