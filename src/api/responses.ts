/**
 * What the routes answer, for `/openapi.json` (and Fastify's serialiser, which is faster with a
 * schema). Every object allows more properties than it lists: a response schema drops unlisted
 * fields, and a view that grows a field (a driver's leg details) must not lose it silently. A
 * field whose value may be null says so: the serialiser would turn a null "string" into "".
 */
import { Type, type TSchema, type TUnsafe } from 'typebox';
import { CALL_KINDS, CALL_STATUSES, DIRECTIONS, EVENT_TYPES, LEG_STATUSES, OUTCOMES } from '../calls/model.ts';
import { DELIVERY_STATUSES } from '../store/contract.ts';
import { Enum } from './schemas.ts';

type Props = Parameters<typeof Type.Object>[0];

/**
 * An answer object: the listed fields, and any more the view has. Its required fields are kept
 * as `x-required` for the OpenAPI document only (openApiRequired): the serialiser throws on a
 * required field that is absent, and an answer must never become a 500 over a missing field.
 */
export const Answer = (props: Props, opts: Record<string, unknown> = {}): TUnsafe<unknown> => {
  const { required, ...o } = Type.Object(props, { additionalProperties: true, ...opts }) as unknown as Record<string, unknown>;
  // typed as unknown: the views are built as records, and a schema checks no answer at run time
  return Type.Unsafe<unknown>(required === undefined ? o : { ...o, 'x-required': required });
};

/** A copy of a route schema for the OpenAPI document, with the answers' required fields back. */
export function openApiRequired<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(openApiRequired) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k === 'x-required' ? 'required' : k] = openApiRequired(v);
  return out as T;
}
export const Nullable = (s: TSchema): TSchema => Type.Union([s, Type.Null()]);
const Str = Type.String();
const Time = Type.String({ format: 'date-time' });
const NTime = Nullable(Time);
const NStr = Nullable(Str);
const NInt = Nullable(Type.Integer());
const Literal = (v: string) => Type.Literal(v);
const Headers = Type.Record(Type.String(), Type.String());
const Any = (description: string) => Type.Unknown({ description });

export const ProblemAnswer = Answer({
  type: Str, title: Str, status: Type.Integer(), detail: Str, code: Str,
  field: Type.Optional(Str),
  errors: Type.Optional(Type.Array(Answer({ field: Str, code: Str, message: Str }))),
  instance: Type.Optional(Str),
}, { description: 'RFC 9457 problem details with a stable `code` (src/errors.ts)' });

/** A list page: `{object: "list", data, next_cursor}`. */
export const ListOf = (item: TSchema): TUnsafe<unknown> => Answer({
  object: Literal('list'), data: Type.Array(item), next_cursor: Nullable(Type.String({ description: 'pass as `cursor` for the next page; null on the last' })),
});

// calls

export const EventAnswer = Answer({
  seq: Type.Integer(), type: Enum(EVENT_TYPES), leg: NStr, occurred_at: Time,
  outcome: Type.Optional(Enum(OUTCOMES)), message: Type.Optional(Str), speaker: Type.Optional(Str), recording_url: Type.Optional(Str),
}, { description: 'A canonical event; its data (outcome, message, speaker, recording_url) inline' });

const LegAnswer = Answer({
  name: Str, number: Str, status: Enum(LEG_STATUSES), outcome: Nullable(Enum(OUTCOMES)),
  initiated_at: NTime, ringing_at: NTime, answered_at: NTime, ended_at: NTime,
});

export const CallAnswer = Answer({
  id: Str, object: Literal('call'), number: NInt, kind: Enum(CALL_KINDS), direction: Enum(DIRECTIONS),
  from: Str, to: Str, bridge: NStr, status: Enum(CALL_STATUSES), outcome: Nullable(Enum(OUTCOMES)),
  channel_id: NStr, flow_id: Any('string or integer, or null'), source: NStr,
  created_at: Time, started_at: NTime, answered_at: NTime, ended_at: NTime,
  duration: Nullable(Type.Number()), recording_url: NStr, error_message: NStr,
  legs: Type.Array(LegAnswer),
  events: Type.Array(EventAnswer),
  transcript: Type.Array(Answer({ type: Str, message: Str, at: Time })),
  tracking: Any('seed 003 call-tracking data, or null'),
  metadata: Any('yours, as given'),
  webhook_id: NStr,
  callback: Any('the seed 000 callback parameter, or null'),
  external_id: NStr,
}, { description: 'A call with its legs and event timeline (SPEC §4)' });

export const IngestBatchAnswer = Answer({
  data: Type.Array(Answer({
    event_id: NStr, status: Type.Integer(),
    call_id: Type.Optional(Str), external_id: Type.Optional(NStr), error: Type.Optional(ProblemAnswer),
  }), { description: 'one result per event, in order' }),
});

// deliveries

const AttemptAnswer = Answer({
  attempt: Type.Integer(), started_at: Time, status_code: NInt, error: NStr, duration_ms: Type.Number(),
  request: Answer({ method: Str, url: Str, headers: Headers }, { description: 'as sent, secrets redacted' }),
  response_headers: Nullable(Headers), response_excerpt: NStr,
});

export const DeliveryAnswer = Answer({
  id: Str, object: Literal('delivery'), call_id: NStr, test: Type.Boolean(), event_seq: Type.Integer(),
  event: Type.String({ description: 'the format’s own event name' }), event_type: Str,
  target: Answer({ format: Str, id: Str }),
  status: Enum(DELIVERY_STATUSES), attempt_count: Type.Integer(), next_attempt_at: NTime,
  waiting_for_earlier_event: Type.Boolean(), last_status_code: NInt, last_error: NStr,
  created_at: Time, updated_at: Time,
  request: Answer({ method: Str, url: Str, body: Type.Optional(Type.Union([Str, Type.Null()], { description: 'the body sent (GET /v1/deliveries/{id} only): the same for every attempt' })) }),
  attempts: Type.Array(AttemptAnswer),
});

const testFields = {
  success: Type.Boolean(), status_code: NInt, latency_ms: Type.Number(), response_excerpt: NStr, error: NStr,
  request: Answer({ method: Str, url: Str, headers: Headers, body: NStr }, { description: 'as sent, secrets redacted' }),
  event: Str, delivery_id: Str,
};
const TEST_DESCRIPTION = 'The outcome of a test delivery (also in the delivery log, with test: true)';
export const TestAnswer = Answer(testFields, { description: TEST_DESCRIPTION });

// targets

const targetCommon = { enabled: Type.Boolean(), disabled_reason: NStr, created_at: Time, updated_at: Time };

export const EndpointAnswer = Answer({
  id: Str, object: Literal('endpoint'), url: Str, description: Type.Optional(NStr), events: Type.Array(Str),
  filters: Any('{direction?, channel_id?, outcome?}'), headers: Headers,
  timeout_ms: Type.Optional(NInt), connect_timeout_ms: Type.Optional(NInt), concurrency: Type.Optional(NInt),
  last_success_at: NTime, failing_since: NTime,
  secret: Type.Optional(NStr),
  ...targetCommon,
}, { description: 'A Standard Webhooks endpoint; `secret` only when created, revealed or rotated' });

export const SecretAnswer = Answer({ secret: NStr });
export const RecoveryAnswer = Answer({
  object: Literal('recovery'),
  retried: Type.Integer({ description: 'dead deliveries sent again, oldest first' }),
  more: Type.Boolean({ description: 'true: more are dead than one request retries; send it again' }),
});

export const CallbackProfileAnswer = Answer({
  id: Str, object: Literal('callback_profile'), name: Str, url: Str, method: Str, headers: Headers, body: NStr, ...targetCommon,
}, { description: 'Seed 000 callback profile' });

export const WebhookAnswer = Answer({
  id: Str, object: Literal('webhook'), url: Str, method: Str, headers: Headers, body: NStr, body_format: NStr, ...targetCommon,
}, { description: 'Seed 001 webhook (its id is the `webhook_id` of a call)' });

export const SubscriptionAnswer = Answer({
  id: Str, service: Str, event: Str, url: Str, eventFilters: Type.Array(Answer({ key: Str, value: Str })),
  signingKey: Nullable(Type.String({ description: '"[redacted]" when set' })), enabled: Type.Boolean(), disabled_reason: NStr, disabledReason: NStr,
  createdAt: Time, updatedAt: Time,
}, { description: 'Seed 002 subscription, in the seed’s own shape' });

export const PropertyAnswer = Answer({
  sid: Str, object: Literal('property'), name: Str, type: Str, created_at: Time, updated_at: Time,
}, { description: 'Seed 003 property' });

export const TrackingWebhookAnswer = Answer({
  id: Str, object: Literal('call_tracking_webhook'), url: Str, method: Str, property_sid: NStr, events: Type.Array(Str), ...targetCommon,
}, { description: 'Seed 003 call-tracking webhook' });

export const CustomIntegrationAnswer = Answer({
  object: Literal('custom_webhook_integration'), enabled: Type.Boolean(), url: NStr, headers: Headers, events: Type.Array(Str),
  disabled_reason: NStr, updated_at: NTime,
}, { description: 'Seed 004 custom webhook integration' });

export const CustomTestAnswer = Answer({ event_type: Str, ...testFields }, { description: TEST_DESCRIPTION });

// accounts, operations

export const AccountAnswer = Answer({
  id: Str, object: Literal('account'), name: Str, api_key: Type.String({ description: 'shown once' }), created_at: Time,
});

export const NoContent = Type.Unsafe<undefined>({ description: 'No content' });

export type { TSchema };
