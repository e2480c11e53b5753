import { Type } from 'typebox';
import type { CallbackProfileDoc } from '../../formats/callback.ts';
import type { WebhookDoc } from '../../formats/push-report.ts';
import type { ProfileInput } from '../../targets/callback-profiles.ts';
import type { Resources } from '../../targets/resources.ts';
import type { WebhookInput } from '../../targets/webhooks.ts';
import { Enum, Obj } from '../schemas.ts';
import type { Api } from '../server.ts';
import { CallbackProfileAnswer, WebhookAnswer } from '../responses.ts';
import type { TestDeliveries } from '../../targets/test-delivery.ts';
import { resourceRoutes, type TestableKinds } from './resources.ts';

const Headers = Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 50 });
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'URL template: {{var}} or {var}, values URL-encoded' });
const Body = Type.Union([Type.String({ maxLength: 65536 }), Type.Null()], { description: 'body template; values escaped for the body format' });

const Secret = Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'optional Standard Webhooks secret (whsec_…): adds webhook-* signature headers; null removes it' }));

const profileFields = {
  secret: Secret,
  method: Type.Optional(Enum(['GET', 'POST'] as const)),
  headers: Type.Optional(Headers),
  body: Type.Optional(Body),
  enabled: Type.Optional(Type.Boolean({ description: 'true re-enables a profile, whoever turned it off' })),
};
const ProfileCreate = Obj({ name: Type.String({ minLength: 1, maxLength: 200 }), url: Url, ...profileFields });
const ProfilePatch = Obj({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), url: Type.Optional(Url), ...profileFields });

const webhookFields = {
  secret: Secret,
  method: Type.Optional(Enum(['GET', 'POST', 'PUT'] as const)),
  headers: Type.Optional(Headers),
  body: Type.Optional(Body),
  body_format: Type.Optional(Enum(['json', 'form'] as const)),
  enabled: Type.Optional(Type.Boolean({ description: 'true re-enables a webhook, whoever turned it off (a 410, the failure window)' })),
};
const WebhookCreate = Obj({ url: Url, ...webhookFields });
const WebhookPatch = Obj({ url: Type.Optional(Url), ...webhookFields });

/** Routes of seed 000 callback profiles and seed 001 webhooks. */
export function perCallFormatRoutes(profiles: Resources<CallbackProfileDoc, ProfileInput>, webhooks: Resources<WebhookDoc, WebhookInput>, tests: { sender: TestDeliveries; kinds: TestableKinds }) {
  const p = resourceRoutes(profiles, {
    path: '/v1/callback-profiles', tags: ['callback'], create: ProfileCreate, patch: ProfilePatch, answer: CallbackProfileAnswer,
    summary: 'Seed 000: name it in a call’s `callback` parameter by its SG_ id.',
  }, tests);
  const w = resourceRoutes(webhooks, {
    path: '/v1/webhooks', tags: ['push-report'], create: WebhookCreate, patch: WebhookPatch, answer: WebhookAnswer,
    summary: 'Seed 001: its id is the `webhook_id` of a call; the report is sent once when the call ends.',
  }, tests);
  return (app: Api): void => {
    p(app);
    w(app);
  };
}
