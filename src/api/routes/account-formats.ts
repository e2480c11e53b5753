import { Type } from 'typebox';
import { TRACKING_EVENTS, type PropertyDoc, type TrackingWebhookDoc } from '../../formats/call-tracking.ts';
import { CHANNEL_EVENTS, type SubscriptionDoc } from '../../formats/channels.ts';
import { CUSTOM_EVENTS, customFormat, type CustomIntegrationDoc } from '../../formats/custom.ts';
import { HooklineError, fieldError } from '../../errors.ts';
import type { Resource } from '../../store/contract.ts';
import {
  UNSAVED_CUSTOM_INTEGRATION, customIntegrationId, type CustomIntegrationInput, type PropertyInput,
  type SubscriptionInput, type TrackingWebhookInput,
} from '../../targets/account-formats.ts';
import { RESOURCE_KINDS } from '../../targets/model.ts';
import type { TestDeliveries } from '../../targets/test-delivery.ts';
import type { Resources } from '../../targets/resources.ts';
import { Enum, Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';
import { CustomIntegrationAnswer, CustomTestAnswer, PropertyAnswer, SubscriptionAnswer, TrackingWebhookAnswer } from '../responses.ts';
import { bodyChecker } from '../validation.ts';
import { optionalBody, resourceRoutes, type TestableKinds } from './resources.ts';

const Url = Type.String({ minLength: 1, maxLength: 2048 });
const Secret = Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'optional Standard Webhooks secret (whsec_…): adds webhook-* signature headers' }));
const Headers = Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 50 });

const Filter = Obj({ key: Type.String({ maxLength: 64 }), value: Type.String({ maxLength: 256 }) });
const subFields = {
  signingKey: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Null()])),
  eventFilters: Type.Optional(Type.Array(Filter, { maxItems: 50 })),
  secret: Secret,
  enabled: Type.Optional(Type.Boolean()),
};
const SubscriptionCreate = Obj({ service: Type.String({ maxLength: 64 }), event: Type.String({ maxLength: 64, description: CHANNEL_EVENTS.join(' | ') }), url: Url, ...subFields });
const SubscriptionPatch = Obj({ service: Type.Optional(Type.String({ maxLength: 64 })), event: Type.Optional(Type.String({ maxLength: 64 })), url: Type.Optional(Url), ...subFields });

const PropertyCreate = Obj({ name: Type.String({ minLength: 1, maxLength: 255 }), type: Type.Optional(Enum(['Site'] as const)) });
const PropertyPatch = Obj({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), type: Type.Optional(Enum(['Site'] as const)) });

const twFields = {
  method: Type.Optional(Enum(['GET', 'POST'] as const)),
  property_sid: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
  events: Type.Optional(Type.Array(Enum(TRACKING_EVENTS), { maxItems: 2 })),
  secret: Secret,
  enabled: Type.Optional(Type.Boolean()),
};
const TrackingWebhookCreate = Obj({ url: Url, ...twFields });
const TrackingWebhookPatch = Obj({ url: Type.Optional(Url), ...twFields });

const customFields = {
  url: Type.Optional(Type.Union([Url, Type.Null()])),
  headers: Type.Optional(Headers),
  events: Type.Optional(Type.Array(Enum(CUSTOM_EVENTS), { maxItems: CUSTOM_EVENTS.length, description: 'absent = all six' })),
  secret: Secret,
};
const CustomPut = Obj({ enabled: Type.Boolean(), ...customFields });
const CustomPatch = Obj({ enabled: Type.Optional(Type.Boolean({ description: 'true re-enables it, whoever turned it off' })), ...customFields });
const CustomTest = Type.Optional(Obj({ event_type: Type.Optional(Enum(CUSTOM_EVENTS)), event: Type.Optional(Enum(CUSTOM_EVENTS)) }));
/** An unsaved integration to test: the PUT body, with the url it must have. */
const CustomTestConfig = Obj({ ...customFields, url: Url, enabled: Type.Optional(Type.Boolean()) });

export interface AccountFormatParts {
  subscriptions: Resources<SubscriptionDoc, SubscriptionInput>;
  properties: Resources<PropertyDoc, PropertyInput>;
  trackingWebhooks: Resources<TrackingWebhookDoc, TrackingWebhookInput>;
  customIntegration: Resources<CustomIntegrationDoc, CustomIntegrationInput>;
  tests: { sender: TestDeliveries; kinds: TestableKinds };
}

/** Routes of the account-wide formats: seed 002 subscriptions, seed 003 properties and webhooks, seed 004 integration. */
export function accountFormatRoutes(p: AccountFormatParts) {
  const subs = resourceRoutes(p.subscriptions, {
    path: '/v1/subscriptions', tags: ['channels'], create: SubscriptionCreate, patch: SubscriptionPatch, answer: SubscriptionAnswer,
    summary: 'Seed 002 body: {service: "channels", event, url, signingKey, eventFilters}.',
  }, p.tests);
  const props = resourceRoutes(p.properties, {
    path: '/v1/properties', tags: ['call-tracking'], create: PropertyCreate, patch: PropertyPatch, answer: PropertyAnswer,
    summary: 'Seed 003: a tracked property; inbound calls name it in tracking.property_sid. Answers its `sid`.',
  });
  const tws = resourceRoutes(p.trackingWebhooks, {
    path: '/v1/call-tracking/webhooks', tags: ['call-tracking'], create: TrackingWebhookCreate, patch: TrackingWebhookPatch, answer: TrackingWebhookAnswer,
    summary: 'Seed 003: Call.Initiate and Call.Complete by GET (query) or POST (form).',
  }, p.tests);
  return (app: Api, deps: ApiDeps): void => {
    subs(app);
    props(app);
    tws(app);
    const tags = ['custom'];
    const custom = p.customIntegration;
    const load = (accountId: string) => deps.store.getResource(accountId, RESOURCE_KINDS.customIntegration, customIntegrationId(accountId));
    const view = (r: Resource | undefined) => (r ? custom.view(r) : UNSAVED_CUSTOM_INTEGRATION);
    // An integration cannot be on without somewhere to send to.
    const needsUrl = (enabled: boolean | undefined, url: string | null | undefined) => {
      if (enabled && !url) throw fieldError('missing_field', 'url', 'url is required to enable the integration');
    };

    app.get('/v1/integrations/custom-webhook', { schema: { tags, summary: 'Seed 004: the custom webhook integration', response: { 200: CustomIntegrationAnswer } } }, async (req) =>
      view(await load(req.auth.account_id)));

    app.put('/v1/integrations/custom-webhook', { schema: { tags, summary: 'Seed 004: save the integration', body: CustomPut, response: { 200: CustomIntegrationAnswer } } }, async (req) => {
      needsUrl(req.body.enabled, req.body.url);
      const accountId = req.auth.account_id;
      return view(await custom.put(accountId, customIntegrationId(accountId), req.body as CustomIntegrationInput));
    });

    app.patch('/v1/integrations/custom-webhook', { schema: { tags, summary: 'Seed 004: change some fields; {"enabled": true} re-enables it', body: CustomPatch, response: { 200: CustomIntegrationAnswer } } }, async (req) => {
      const accountId = req.auth.account_id;
      const prior = await custom.get(accountId, customIntegrationId(accountId));
      const url = req.body.url === undefined ? (prior.doc as unknown as CustomIntegrationDoc).url : req.body.url;
      needsUrl(req.body.enabled ?? prior.enabled, url);
      return view(await custom.update(accountId, customIntegrationId(accountId), req.body as CustomIntegrationInput));
    });

    app.post('/v1/integrations/custom-webhook/test', {
      schema: { tags, summary: 'Seed 004 test button: a sample event with is_test: true, rendered as live traffic, sent now; answers the outcome', body: CustomTest, response: { 200: CustomTestAnswer } },
      ...optionalBody,
    }, async (req) => {
      const accountId = req.auth.account_id;
      const r = await load(accountId);
      if (!(r?.doc as CustomIntegrationDoc | undefined)?.url) {
        throw new HooklineError('invalid_field', 'set the integration’s url first (PUT /v1/integrations/custom-webhook)', { field: 'url' });
      }
      const event = req.body?.event_type ?? req.body?.event;
      return { event_type: event ?? customFormat.testEvent, ...(await p.tests.sender.send(accountId, r!, event)) };
    });
    p.tests.kinds.set(customFormat.name, { check: bodyChecker(CustomTestConfig), service: custom as unknown as Resources<unknown, unknown> });
  };
}
