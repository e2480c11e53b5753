import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import { HooklineError } from '../../errors.ts';
import type { ApiKeyInfo } from '../../store/contract.ts';
import { Obj } from '../schemas.ts';
import type { Api, ApiDeps } from '../server.ts';

/** How long a stream token opens streams: long enough for EventSource's reconnects after a blip. */
export const STREAM_TOKEN_TTL_MS = 5 * 60_000;

/**
 * Short-lived tokens for `GET /v1/stream?token=…`. A browser's EventSource cannot send an
 * Authorization header, and an API key in a URL ends up in logs and history: the console asks
 * for a token with its key (POST /v1/stream/tokens) and puts that in the URL. A token is
 * signed with a secret of this process, opens streams only, and holds for STREAM_TOKEN_TTL_MS.
 */
export class StreamTokens {
  readonly #secret = randomBytes(32);
  #mac(body: string): Buffer {
    return createHmac('sha256', this.#secret).update(body).digest();
  }

  mint(auth: ApiKeyInfo, now: number): { token: string; expires_at: number } {
    const expires_at = now + STREAM_TOKEN_TTL_MS;
    const body = Buffer.from(JSON.stringify({ a: auth.account_id, b: auth.bootstrap, e: expires_at })).toString('base64url');
    return { token: `st_${body}.${this.#mac(body).toString('base64url')}`, expires_at };
  }

  verify(token: string, now: number): ApiKeyInfo | undefined {
    const m = /^st_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return undefined;
    const given = Buffer.from(m[2]!, 'base64url');
    const want = this.#mac(m[1]!);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
    const claims = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { a: string; b: boolean; e: number };
    return claims.e > now ? { account_id: claims.a, bootstrap: claims.b } : undefined;
  }
}

const StreamQuery = Obj({
  token: Type.Optional(Type.String({ maxLength: 1024, description: 'a token from POST /v1/stream/tokens, for clients that cannot send Authorization (EventSource)' })),
  call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'only this call\'s events and delivery results' })),
});

const StreamToken = Type.Object({
  object: Type.Literal('stream_token'),
  token: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
});

const STREAM_DESCRIPTION = `Server-sent events (text/event-stream) of the account's call events and delivery results, live.

- \`event: call.event\`, data: \`{call_id, seq, type, leg, occurred_at, …event data, call: {status, outcome}}\` once the event is committed; per call in \`seq\` order.
- \`event: delivery.result\`, data: \`{delivery_id, call_id, target: {format, id}, status, attempt, started_at, status_code, error, duration_ms, next_attempt_at}\`, one per attempt.
- \`event: reset\`, data: \`{reason}\`: the \`Last-Event-ID\` given is not known here (older than the history kept, or from before a restart); reload what you show from the API.

Every event has an \`id\`; reconnect with \`Last-Event-ID\` (EventSource does) to be sent what you missed. A reader that falls too far behind is disconnected and resumes the same way.
Authenticate with \`Authorization: Bearer <api key>\`, or \`?token=\` from POST /v1/stream/tokens.`;

export function streamRoutes(tokens: StreamTokens) {
  return (app: Api, deps: ApiDeps): void => {
    const tags = ['stream'];
    app.post('/v1/stream/tokens', {
      schema: { tags, summary: 'A short-lived token that opens GET /v1/stream (for EventSource, which cannot send headers)', response: { 201: StreamToken } },
    }, async (req, reply) => {
      const t = tokens.mint(req.auth, deps.clock.now());
      return reply.status(201).send({ object: 'stream_token' as const, token: t.token, expires_at: new Date(t.expires_at).toISOString() });
    });

    app.get('/v1/stream', {
      schema: {
        tags, summary: 'Live call events and delivery results (server-sent events)', description: STREAM_DESCRIPTION, querystring: StreamQuery,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 64, description: 'the id of the last event received' })) }),
        response: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: Type.String() } } } },
      },
    }, async (req, reply) => {
      const events = deps.events;
      if (!events) throw new HooklineError('route_not_found', 'this process serves no stream');
      const last = req.headers['last-event-id'];
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      events.attach(reply.raw, req.auth.account_id, req.query.call_id, typeof last === 'string' ? last : undefined);
    });
  };
}
