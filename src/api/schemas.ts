import { Type, type Static, type TSchema } from 'typebox';
import { CALL_KINDS, CALL_STATUSES, DIRECTIONS, EVENT_TYPES, OUTCOMES } from '../calls/model.ts';

/** Objects refuse unknown fields: a typo in a field name is a 400, not a silent default. */
export const Obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, opts: Parameters<typeof Type.Object>[1] = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts });

export const Enum = <T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

export const Phone = Type.String({ minLength: 1, maxLength: 64, description: 'A phone number (E.164 recommended) or SIP address' });
const Ms = Type.Integer({ minimum: 0, maximum: 24 * 3600 * 1000 });

export const TranscriptLineIn = Obj({
  type: Type.String({ minLength: 1, maxLength: 64 }),
  message: Type.String({ maxLength: 100_000 }),
});

export const LegSimulate = Obj({
  ivr_ms: Type.Optional({ ...Ms, description: 'inbound calls: time in the IVR before the transfer rings (default 0)' }),
  ring_ms: Type.Optional(Ms),
  outcome: Type.Optional(Enum(['answer', 'busy', 'no-answer', 'failed'] as const)),
  talk_ms: Type.Optional(Ms),
  transcript: Type.Optional(Type.Array(TranscriptLineIn, { maxItems: 1000 })),
  recording_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
}, { description: 'The scenario one leg plays (SPEC §4). Defaults: ring_ms 2000, outcome answer, talk_ms 10000.' });

const CallbackEntry = Type.Object({}, { additionalProperties: true });
export const Callback = Type.Record(Type.String(), CallbackEntry, {
  description: 'Seed 000: event name → {callback_profile: [ids], url: [urls]}; keys are case-insensitive',
});

const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'Yours; stored and returned as given' });

/** What both call APIs (OBD and Click-to-Call) take besides their `simulate`. */
const placedCallFields = {
  from: Phone,
  to: Phone,
  bridge: Type.Optional(Phone),
  flow_id: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Integer()])),
  channel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the call\'s source (seed 001 `source`, seed 004 `source`); default OBD, C2C or inbound' })),
  webhook_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  callback: Type.Optional(Callback),
  metadata: Type.Optional(Metadata),
  ring_timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 600, description: 'SIP: CANCEL an unanswered call after this many seconds (default 45)' })),
  max_duration_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'SIP: Hookline hangs up an answered call after this many seconds' })),
};

export const OutboundCallBody = Obj({ ...placedCallFields, simulate: Type.Optional(LegSimulate) });
export type OutboundCallBody = Static<typeof OutboundCallBody>;

export const ClickToCallBody = Obj({
  ...placedCallFields,
  simulate: Type.Optional(Obj({ from: Type.Optional(LegSimulate), to: Type.Optional(LegSimulate) })),
});
export type ClickToCallBody = Static<typeof ClickToCallBody>;

const Str = (max = 512) => Type.Optional(Type.String({ maxLength: max }));
/** Seed 003 call-tracking data of an inbound call; each group feeds its `Call.*`, `Attribution.*`… parameters. */
export const TrackingIn = Obj({
  property_sid: Type.String({ minLength: 1, maxLength: 128, description: 'a property of /v1/properties' }),
  number: Type.Optional(Obj({ type: Type.Optional(Enum(['Static', 'Dynamic'] as const)), name: Str() }, { description: 'the dialled number: Call.To.Type, Call.To.Name' })),
  caller: Type.Optional(Obj({ country: Str(), region: Str(), city: Str() }, { description: 'Call.From.Country/Region/City' })),
  attribution: Type.Optional(Obj({ source: Str(), medium: Str(), campaign: Str(), content: Str() })),
  session: Type.Optional(Obj({
    traffic_type: Type.Optional(Enum(['Campaign', 'Direct', 'Organic', 'Referral', 'Unattributed'] as const)),
    keywords: Str(), conversion_uri: Str(2048), landing_uri: Str(2048), custom_dimension1: Str(),
  })),
  google: Type.Optional(Obj({ analytics_client_id: Str(), adwords_click_id: Str() })),
  survey: Type.Optional(Obj({ type: Str(), value: Type.Optional(Type.Integer()), custom1: Str(), custom2: Str(), custom3: Str(), unique_code: Str() })),
  prompts: Type.Optional(Obj({ postcode: Str(), keys: Str() })),
  endpoint: Type.Optional(Type.String({ maxLength: 64, description: 'Call.Endpoint: where the call was transferred' })),
}, { description: 'Seed 003 call-tracking data' });

export const InboundCallBody = Obj({
  from: Phone,
  to: Phone,
  channel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  bridge: Type.Optional(Phone),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the call\'s source (seed 001 `source`, seed 004 `source`); default OBD, C2C or inbound' })),
  tracking: Type.Optional(TrackingIn),
  simulate: Type.Optional(LegSimulate),
  metadata: Type.Optional(Metadata),
});
export type InboundCallBody = Static<typeof InboundCallBody>;

export const TranscriptBody = TranscriptLineIn;

export const IngestBody = Obj({
  event_id: Type.String({ minLength: 1, maxLength: 256, description: "The switch's own id for this event; a repeat is ignored" }),
  call_id: Type.String({ minLength: 1, maxLength: 256, description: "The switch's own id for the call" }),
  type: Enum(EVENT_TYPES),
  occurred_at: Type.Optional(Type.String({ format: 'date-time' })),
  leg: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  from: Type.Optional(Phone),
  to: Type.Optional(Phone),
  direction: Type.Optional(Enum(DIRECTIONS)),
  kind: Type.Optional(Enum(CALL_KINDS)),
  channel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  bridge: Type.Optional(Phone),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the call\'s source (seed 001 `source`, seed 004 `source`); default OBD, C2C or inbound' })),
  outcome: Type.Optional(Enum(OUTCOMES)),
  recording_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
  message: Type.Optional(Type.String({ maxLength: 100_000 })),
  speaker: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'transcript line type (call.transcript)' })),
  metadata: Type.Optional(Metadata),
  tracking: Type.Optional(TrackingIn),
});
export type IngestBody = Static<typeof IngestBody>;

/** What a switch adapter sends: up to 1,000 events, each checked as a single event would be. */
export const MAX_INGEST_BATCH = 1000;
export const IngestBatch = Obj({
  events: Type.Array(Type.Object({}, { additionalProperties: true, description: 'an event as POST /v1/call-events takes it alone' }),
    { minItems: 1, maxItems: MAX_INGEST_BATCH }),
});

export const IdParams = Obj({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const ListQuery = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Obj({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'next_cursor of the previous page' })),
    ...props,
  });

export const CallListQuery = ListQuery({
  kind: Type.Optional(Enum(CALL_KINDS)),
  direction: Type.Optional(Enum(DIRECTIONS)),
  status: Type.Optional(Enum(CALL_STATUSES)),
  outcome: Type.Optional(Enum(OUTCOMES)),
  from: Type.Optional(Type.String({ maxLength: 64 })),
  to: Type.Optional(Type.String({ maxLength: 64 })),
  channel_id: Type.Optional(Type.String({ maxLength: 128 })),
  external_id: Type.Optional(Type.String({ maxLength: 256 })),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'only calls created at or after this time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'only calls created before this time' })),
});

export const AccountBody = Obj({ name: Type.String({ minLength: 1, maxLength: 200 }) });

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  field: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), code: Type.String(), message: Type.String() }))),
}, { $id: 'Problem', description: 'RFC 9457 problem details with a stable code' });

export type { TSchema };
