/**
 * fast-check arbitraries of API requests for the fuzz test: routes come from /openapi.json,
 * bodies follow each route's schema (so many requests get past validation and reach storage),
 * and at any node a value may be swapped for a hostile one: NUL, lone surrogates, huge numbers,
 * wrong types, deep nesting, long strings, hostile keys.
 *
 * Values that must name something real at run time (an id, a receiver URL) are placeholders,
 * `@@ID<n>:<prefix>@@` (the n-th known id starting with prefix, modulo) and `@@URL@@`, filled in
 * just before sending: the generated requests stay a pure function of the seed.
 */
import fc, { type Arbitrary } from 'fast-check';

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  format?: string;
}

export interface Route {
  method: string;
  /** OpenAPI template: `/v1/calls/{id}` */
  path: string;
  query: { name: string; schema: JsonSchema }[];
  body: JsonSchema | undefined;
}

export interface FuzzRequest {
  /** the route aimed at: `POST /v1/calls/{id}/hangup` */
  route: string;
  method: string;
  /** the raw path and query, percent-encoding already done (or deliberately broken) */
  url: string;
  /** JSON text, or raw text that is not JSON; undefined: no body */
  body: string | undefined;
  headers: Record<string, string>;
}

/** A number JSON can carry but JSON.stringify cannot write: spliced into the text after it. */
const RAW_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '-0.0e-999'];
const RAW_TOKEN = (n: string) => `@@RAW${n}@@`;

const HOSTILE_STRINGS = [
  '\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800', '\ud83d', '', ' ', '\r\nX-Injected: 1', '\u202e\ufeff', '📞',
  '{{id}}', '{{', '{', '%00', '../../etc', '__proto__', 'constructor', 'null', '-1', '1e309',
  `call_${'0'.repeat(26)}`, 'SG_00000000-0000-0000-0000-000000000000', `PR${'0'.repeat(32)}`, 'x'.repeat(300), 'y'.repeat(5000),
];

/** Path segments and query values as they go on the wire: some are not valid percent-encoding. */
const RAW_URL_PARTS = ['%00', 'a%00b', '%ED%A0%80', '%FF', '%C0%80', '%', '%zz', '..', '%2F', 'x'.repeat(600), '%F0%9F%93%9E', '+'];

/** encodeURIComponent, except that a lone surrogate (which it refuses) goes out as its CESU bytes */
export function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s].map((ch) => (ch.isWellFormed() ? encodeURIComponent(ch) : '%ED%A0%80')).join('');
  }
}

const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
);

const hugeNumber = fc.constantFrom<unknown>(1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 0.5, 1e-300, ...RAW_NUMBERS.map(RAW_TOKEN));

function nest(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Something of the wrong shape, or nothing sensible at all. */
const hostile: Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyString },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 2, arbitrary: fc.oneof(fc.boolean(), fc.constant(null), fc.integer(), fc.constant([]), fc.constant({})) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 20, max: 400 }), anyString).map(([d, leaf]) => nest(d, leaf)) },
  { weight: 1, arbitrary: fc.dictionary(anyString, anyString, { maxKeys: 3 }) },
);

const idPlaceholder = fc.nat({ max: 50 }).map((n) => `@@ID${n}:@@`); // any kind
const urlLike = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('@@URL@@/a', '@@URL@@/b?x={{call_id}}', '@@URL@@/c?id={id}') },
  // nothing that names a host to look up or a real address: the test button sends at once
  { weight: 1, arbitrary: fc.constantFrom('ftp://x', 'http://', 'not a url', 'http://user:pass@127.0.0.1:1/refused', 'http://[::1]:1/refused') },
);
const phone = fc.oneof(fc.stringMatching(/^\+1555[0-9]{7}$/), fc.constantFrom('sip:a@b', '1'));

/** How often a node is swapped for a hostile value: never, now and then, often. */
export const MIXES = { clean: 0, subtle: 1, dirty: 6 } as const;
type Mix = (typeof MIXES)[keyof typeof MIXES];

const clean = (mix: Mix) => mix === MIXES.clean;
const either = <T>(mix: Mix, good: Arbitrary<T>, any: Arbitrary<T>): Arbitrary<T> => (clean(mix) ? good : fc.oneof(good, any));
const idOf = (prefix: string) => fc.nat({ max: 50 }).map((n) => `@@ID${n}:${prefix}@@`);
const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

/** Values that must be of a particular kind to get past a route's own checks, by field name. */
function byName(name: string | undefined, schema: JsonSchema, mix: Mix): Arbitrary<unknown> | undefined {
  if (name === undefined) return undefined;
  if (schema.type === 'string' || schema.anyOf) {
    if (name === 'service') return either(mix, fc.constant('channels'), anyString);
    if (name === 'event') return either(mix, fc.constantFrom('voice.inbound', 'voice.outbound'), anyString);
    if (name === 'key') return either(mix, fc.constant('channelId'), anyString);
    if (/url|uri$/.test(name)) return either(mix, fc.constant('@@URL@@/a'), urlLike);
    if (['from', 'to', 'bridge'].includes(name)) return either(mix, phone, anyString);
    if (name === 'webhook_id') return either(mix, idOf('wh_'), anyString);
    if (name === 'property_sid') return either(mix, idOf('PR'), anyString);
    if (name === 'call_id' || name === 'event_id') return either(mix, fc.stringMatching(/^sw-[0-9]{1,3}$/), anyString);
    if (name === 'channel_id') return either(mix, fc.stringMatching(/^ch-[0-9]$/), anyString);
    if (name === 'secret') return either(mix, fc.constant(SECRET), fc.constantFrom('whsec_', 'nope'));
    if (name === 'body' || name === 'template') return either(mix, fc.constant(null), fc.constantFrom('{"id": "{{id}}", "s": "{{status}}"}', '{"x": {{call_id}}}', 'a={{from}}', '{{'));
    if (name === 'occurred_at') return either(mix, fc.constant('2026-01-01T00:00:00Z'), fc.constantFrom('2026-13-01T00:00:00Z', 'yesterday'));
  }
  if (name === 'callback') {
    const entry = fc.record({ url: fc.array(either(mix, fc.constant('@@URL@@/cb'), urlLike), { maxLength: 2 }), callback_profile: fc.array(idOf('SG_'), { maxLength: 2 }) }, { requiredKeys: [] });
    return fc.dictionary(either(mix, fc.constant('call_end'), fc.constantFrom('call_start', 'call_answer', 'to_call_start', 'CALL_END', 'nope')), entry, { maxKeys: 3 });
  }
  if (name === 'headers') {
    const names = either(mix, fc.constantFrom('x-a', 'Authorization'), fc.constantFrom('content-type', 'x a', 'Keep-Alive', 'webhook-id', ''));
    const values = either(mix, fc.constantFrom('1', 'Bearer t', '[redacted]', 'caf\u00e9'), fc.oneof(fc.constant('\u20ac'), anyString));
    return fc.dictionary(names, values, { maxKeys: 3 });
  }
  return undefined;
}

/** Values of `schema`; with a mix other than clean, any node may be swapped for a hostile one. */
export function fromSchema(schema: JsonSchema, mix: Mix, name?: string, depth = 0): Arbitrary<unknown> {
  const own = byName(name, schema, mix) ?? shaped(schema, mix, depth);
  return mix === MIXES.clean ? own : fc.oneof({ weight: 40, arbitrary: own }, { weight: mix, arbitrary: hostile });
}

function shaped(s: JsonSchema, mix: Mix, depth: number): Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map((b) => fromSchema(b, mix, undefined, depth + 1)));
  switch (s.type) {
    case 'string': {
      if (s.format === 'date-time') return fc.constantFrom('2026-01-01T00:00:00Z', 'not a date');
      const min = s.minLength ?? 0;
      const max = Math.max(min, Math.min(s.maxLength ?? 16, 16));
      return mix === MIXES.clean ? fc.stringMatching(new RegExp(`^[a-z0-9 ._-]{${min},${max}}$`)) : fc.string({ minLength: min, maxLength: max });
    }
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1e6, -1e9), max: Math.min(s.maximum ?? 1e6, 1e9) });
    case 'number':
      return fc.double({ noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      // one item when clean: lists such as eventFilters allow one of a kind
      return fc.array(s.items ? fromSchema(s.items, mix, undefined, depth + 1) : fc.jsonValue({ maxDepth: 1 }), { maxLength: Math.min(s.maxItems ?? 3, clean(mix) ? 1 : 3) });
    case 'object': {
      if (depth > 4) return fc.constant({});
      const props = Object.entries(s.properties ?? {});
      if (props.length > 0) {
        const required = s.required ?? [];
        const rec = fc.record(Object.fromEntries(props.map(([k, v]) => [k, fromSchema(v, mix, k, depth + 1)])), { requiredKeys: required });
        if (mix === MIXES.clean) return rec;
        // sometimes a key the schema does not know, or a hostile one
        return fc.tuple(rec, fc.option(fc.tuple(fc.constantFrom('extra', '\u0000', '\ud800'), hostile), { freq: 60 / mix }))
          .map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));
      }
      const value = typeof s.additionalProperties === 'object' && Object.keys(s.additionalProperties).length > 0
        ? fromSchema(s.additionalProperties, mix, undefined, depth + 1)
        : fc.jsonValue({ maxDepth: 2 });
      return fc.dictionary(mix === MIXES.clean ? fc.stringMatching(/^[a-z_]{1,8}$/) : anyString, value, { maxKeys: 3 });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** JSON text of `v`, with the numbers JSON.stringify cannot write put back in. */
export function toJson(v: unknown): string {
  let text = JSON.stringify(v) ?? 'null';
  for (const n of RAW_NUMBERS) text = text.replaceAll(JSON.stringify(RAW_TOKEN(n)), n);
  return text;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const UNKNOWN_PATHS = ['/v1/nope', '/v1/calls/x/y/z', '/', '/v1//calls', '/v1/calls/', '/%00', '/v1/%ED%A0%80', '/v1/calls?limit=5&limit=6'];
// over the 1 MiB body limit: 413 (made once; fast-check only picks it)
const HUGE_BODY = JSON.stringify({ from: '+1', to: '+2', metadata: { x: 'z'.repeat(1024 * 1024) } });
const BROKEN_BODIES = ['', '{', 'null', '[]', '"x"', '{"a":1,"a":2}', '{"__proto__": {"x": 1}}', '\u0000', HUGE_BODY];

/** The kind of id a path's `{id}` names, by the prefix newId gives it (any kind for a route not listed). */
const ID_KINDS: [RegExp, string][] = [
  [/^\/v1\/calls\//, 'call_'], [/^\/v1\/endpoints\//, 'ep_'], [/^\/v1\/deliveries\//, 'msg_'], [/^\/v1\/webhooks\//, 'wh_'],
  [/^\/v1\/subscriptions\//, 'sub_'], [/^\/v1\/properties\//, 'PR'], [/^\/v1\/call-tracking\/webhooks\//, 'ctw_'], [/^\/v1\/callback-profiles\//, 'SG_'],
];

function requestTo(r: Route): Arbitrary<FuzzRequest> {
  const kind = ID_KINDS.find(([re]) => re.test(r.path))?.[1] ?? '';
  const segment = fc.oneof(
    { weight: 5, arbitrary: idOf(kind) },
    { weight: 1, arbitrary: idPlaceholder },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_URL_PARTS) },
    { weight: 2, arbitrary: anyString.map(encode) },
  );
  const queryValue = (schema: JsonSchema, name: string) => fc.oneof(
    { weight: 4, arbitrary: fromSchema(schema, MIXES.subtle, name).map((v) => encode(typeof v === 'string' ? v : JSON.stringify(v) ?? '')) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PARTS) },
  );
  const names = [...r.query.map((q) => q.name), 'x'];
  const param = fc.constantFrom(...names).chain((n) => queryValue(r.query.find((q) => q.name === n)?.schema ?? {}, n).map((v) => `${encode(n)}=${v}`));
  const query = fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(param, { minLength: 1, maxLength: 4 }) });
  const body: Arbitrary<string | undefined> = r.body
    ? fc.oneof(
      // the body itself is always an object of the route's shape; hostile values go inside it
      ...Object.values(MIXES).map((mix) => ({ weight: 4, arbitrary: shaped(r.body!, mix, 0).map(toJson) })),
      { weight: 1, arbitrary: fc.constantFrom<string | undefined>(...BROKEN_BODIES, undefined) },
    )
    : fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(toJson) });
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant(r.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) });
  const headers = fc.record({
    auth: fc.oneof({ weight: 20, arbitrary: fc.constant('ok') }, { weight: 1, arbitrary: fc.constantFrom('none', 'garbage') }),
    type: fc.oneof({ weight: 20, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded') }),
    idem: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,12}$/) }, { weight: 1, arbitrary: fc.constant('k'.repeat(300)) }),
  });
  return fc.record({ method, segs: fc.array(segment, { minLength: 2, maxLength: 2 }), query, body, headers }).map(({ method: m, segs, query: q, body: b, headers: h }) => {
    let i = 0;
    const p = r.path.replace(/\{[^}]+\}/g, () => segs[i++ % segs.length]!);
    const hs: Record<string, string> = { 'x-fuzz-auth': h.auth };
    if (b !== undefined) hs['content-type'] = h.type;
    if (h.idem !== null) hs['idempotency-key'] = h.idem;
    const noBody = m === 'GET' || m === 'HEAD';
    return { route: `${r.method} ${r.path}`, method: m, url: q.length > 0 ? `${p}?${q.join('&')}` : p, body: noBody ? undefined : b, headers: hs };
  });
}

/** Any request: mostly to a real route, sometimes to none. */
export function requestArb(routes: Route[]): Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.oneof(...routes.map(requestTo)) },
    { weight: 1, arbitrary: fc.record({ method: fc.constantFrom(...METHODS), url: fc.constantFrom(...UNKNOWN_PATHS) }).map((r) => ({ ...r, route: 'none', body: undefined, headers: { 'x-fuzz-auth': 'ok' } })) },
  );
}
