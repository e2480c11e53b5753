import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HooklineError } from '../errors.ts';
import type { ApiKeyInfo, Store } from '../store/contract.ts';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: ApiKeyInfo;
  }
}

/**
 * A found key is trusted this long without asking the store again. Keys are never edited, but
 * the bootstrap key is replaced when a process starts with HOOKLINE_API_KEY: with several
 * processes on one PostgreSQL database, the others stop taking the old key within this time
 * (cached for good, they took it until their own restart). One lookup per key per 30 s.
 */
export const KEY_CACHE_MS = 30_000;

/**
 * Bearer-key authentication. Keys are looked up by their SHA-256 (they are long random tokens,
 * so a slow password hash buys nothing); found keys are cached for KEY_CACHE_MS.
 */
export function authenticator(store: Store, now: () => number, streamToken?: (token: string) => ApiKeyInfo | undefined) {
  const cache = new Map<string, { info: ApiKeyInfo; until: number }>();
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = req.headers.authorization;
    // GET /v1/stream also takes ?token= (routes/stream.ts): EventSource cannot send a header.
    const token = header === undefined && streamToken && req.routeOptions.url === '/v1/stream' ? (req.query as { token?: unknown }).token : undefined;
    if (typeof token === 'string') {
      const found = streamToken!(token);
      if (!found) throw new HooklineError('unauthorized', 'the stream token is not valid or has expired; ask POST /v1/stream/tokens for another');
      req.auth = found;
      return;
    }
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HooklineError('unauthorized', 'send Authorization: Bearer <api key>');
    const hash = hashKey(m[1]!);
    const t = now();
    const hit = cache.get(hash);
    if (hit && hit.until > t) {
      req.auth = hit.info;
      return;
    }
    const info = await store.findApiKey(hash);
    if (!info) {
      cache.delete(hash);
      throw new HooklineError('unauthorized', 'the API key is not valid');
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { info, until: t + KEY_CACHE_MS });
    req.auth = info;
  };
}
