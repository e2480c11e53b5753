import { Type } from 'typebox';
import { DIRECTIONS, EVENT_TYPES, OUTCOMES } from '../../calls/model.ts';
import { isValidSecret } from '../../delivery/signing.ts';
import { fieldError } from '../../errors.ts';
import { MAX_TIMEOUT_MS } from '../../targets/model.ts';
import { endpointView, type Endpoints } from '../../targets/endpoints.ts';
import { newIdShape } from '../../ids.ts';
import { cursorOf, page } from '../paging.ts';
import { Enum, IdParams, ListQuery, Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';

const Headers = Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { description: 'Extra request headers', maxProperties: 50 });
const Filters = Obj({
  direction: Type.Optional(Type.Array(Enum(DIRECTIONS), { maxItems: 2 })),
  channel_id: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 100 })),
  outcome: Type.Optional(Type.Array(Enum(OUTCOMES), { maxItems: 5, description: 'applies to call.ended events' })),
}, { description: 'Every given filter must match; values within one filter are alternatives' });

const fields = {
  description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  events: Type.Optional(Type.Array(Enum(EVENT_TYPES), { maxItems: EVENT_TYPES.length, description: 'canonical event types; empty or absent = all' })),
  filters: Type.Optional(Filters),
  headers: Type.Optional(Headers),
  secret: Type.Optional(Type.String({ description: 'whsec_… (generated when absent)' })),
  enabled: Type.Optional(Type.Boolean()),
  timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: MAX_TIMEOUT_MS })),
  connect_timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: MAX_TIMEOUT_MS })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
};
const EndpointCreate = Obj({ url: Type.String({ minLength: 1, maxLength: 2048 }), ...fields });
const EndpointPatch = Obj({ url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })), ...fields });
const ENDPOINT_ID = newIdShape('ep');
const RotateBody = Type.Optional(Obj({ secret: Type.Optional(Type.String()) }));

function checkSecret(secret: string | undefined): void {
  if (secret !== undefined && !isValidSecret(secret)) {
    throw fieldError('invalid_field', 'secret', 'secret must be whsec_ followed by base64 of 24 to 64 bytes');
  }
}

export function endpointRoutes(endpoints: Endpoints) {
  return (app: Api, deps: ApiDeps): void => {
    const tags = ['endpoints'];
    const now = () => deps.clock.now();

    app.post('/v1/endpoints', { schema: { tags, summary: 'Create a Standard Webhooks endpoint; the answer shows its secret', body: EndpointCreate } }, async (req, reply) => {
      checkSecret(req.body.secret);
      const r = await endpoints.create(req.auth.account_id, req.body);
      return reply.status(201).send(endpointView(r, true, now()));
    });

    app.get('/v1/endpoints', { schema: { tags, summary: 'List endpoints', querystring: ListQuery({}) } }, async (req) => {
      const { limit = 20 } = req.query;
      const cursor = cursorOf(req.query.cursor, ENDPOINT_ID);
      const all = (await endpoints.list(req.auth.account_id)).sort((a, b) => (a.id < b.id ? 1 : -1));
      const { rows, next_cursor } = await page(limit, async (n) => all.filter((r) => cursor === null || r.id < cursor).slice(0, n));
      return { object: 'list', data: rows.map((r) => endpointView(r)), next_cursor };
    });

    app.get('/v1/endpoints/:id', { schema: { tags, summary: 'An endpoint (without its secret)', params: IdParams } }, async (req) =>
      endpointView(await endpoints.get(req.auth.account_id, req.params.id)));

    app.patch('/v1/endpoints/:id', { schema: { tags, summary: 'Change an endpoint; {"enabled": true} re-enables it', params: IdParams, body: EndpointPatch } }, async (req) => {
      checkSecret(req.body.secret);
      return endpointView(await endpoints.update(req.auth.account_id, req.params.id, req.body));
    });

    app.delete('/v1/endpoints/:id', { schema: { tags, summary: 'Delete an endpoint', params: IdParams } }, async (req, reply) => {
      await endpoints.delete(req.auth.account_id, req.params.id);
      return reply.status(204).send();
    });

    app.get('/v1/endpoints/:id/secret', { schema: { tags, summary: 'Reveal the current signing secret', params: IdParams } }, async (req) => {
      const view = endpointView(await endpoints.get(req.auth.account_id, req.params.id), true, now());
      return { secret: view.secret };
    });

    app.post('/v1/endpoints/:id/secret/rotate', {
      schema: { tags, summary: 'Rotate the secret; the old one keeps signing beside the new one for 24 h', params: IdParams, body: RotateBody },
      // The body is optional: a POST without one (no secret given) is validated as {}.
      preValidation: async (req) => {
        req.body ??= {};
      },
    }, async (req) => {
      checkSecret(req.body?.secret);
      const r = await endpoints.rotateSecret(req.auth.account_id, req.params.id, req.body?.secret);
      return { secret: endpointView(r, true, now()).secret };
    });
  };
}
