import { Type } from 'typebox';
import { DIRECTIONS, EVENT_TYPES, OUTCOMES } from '../../calls/model.ts';
import { generateSecret, isValidSecret } from '../../delivery/signing.ts';
import { fieldError } from '../../errors.ts';
import { MAX_TIMEOUT_MS, type EndpointDoc, type SecretEntry } from '../../targets/model.ts';
import { endpointView, type EndpointInput } from '../../targets/endpoints.ts';
import type { Resources } from '../../targets/resources.ts';
import type { TestDeliveries } from '../../targets/test-delivery.ts';
import { Enum, IdParams, Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { EndpointAnswer, SecretAnswer } from '../responses.ts';
import { optionalBody, resourceRoutes, type TestableKinds } from './resources.ts';

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
const RotateBody = Type.Optional(Obj({ secret: Type.Optional(Type.String()) }));

function checkSecret(secret: string | undefined): void {
  if (secret !== undefined && !isValidSecret(secret)) {
    throw fieldError('invalid_field', 'secret', 'secret must be whsec_ followed by base64 of 24 to 64 bytes');
  }
}

type EndpointService = Resources<EndpointDoc, EndpointInput & { secrets?: SecretEntry[] }>;

/** Native endpoints: the five routes and the test every kind has (resources.ts), and the secret's reveal and rotation. */
export function endpointRoutes(endpoints: EndpointService, tests: { sender: TestDeliveries; kinds: TestableKinds }) {
  const common = resourceRoutes(endpoints, {
    path: '/v1/endpoints', tags: ['endpoints'], create: EndpointCreate, patch: EndpointPatch, answer: EndpointAnswer,
    summary: 'Standard Webhooks: the answer shows its secret (whsec_…, generated when absent).',
    // Created: the one answer (besides reveal and rotation) that shows the secret.
    createdView: (r) => endpointView(r, true, Date.now()),
    // The secret is checked before anything is built, so a bad one is a 400 that names it.
    checkBody: (b) => checkSecret((b as { secret?: string }).secret),
  }, tests);
  return (app: Api, deps: ApiDeps): void => {
    const tags = ['endpoints'];
    const now = () => deps.clock.now();
    common(app);

    app.get('/v1/endpoints/:id/secret', { schema: { tags, summary: 'Reveal the current signing secret', params: IdParams, response: { 200: SecretAnswer } } }, async (req) => {
      const view = endpointView(await endpoints.get(req.auth.account_id, req.params.id), true, now());
      return { secret: view.secret };
    });

    app.post('/v1/endpoints/:id/secret/rotate', {
      schema: { tags, summary: 'Rotate the secret; the old one keeps signing beside the new one for 24 h', params: IdParams, body: RotateBody, response: { 200: SecretAnswer } },
      ...optionalBody,
    }, async (req) => {
      checkSecret(req.body?.secret);
      const r = await endpoints.update(req.auth.account_id, req.params.id, { secret: req.body?.secret ?? generateSecret() });
      return { secret: endpointView(r, true, now()).secret };
    });
  };
}
